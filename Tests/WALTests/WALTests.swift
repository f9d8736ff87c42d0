import Foundation
import Raft
import HarnessSupport
import Testing
@testable import WAL

@Suite struct WALTests {
    let metadata: [UInt8] = Array("member 8e9e05c52164694d".utf8)

    @Test func roundTrip() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        #expect(!WAL.exists(directory: dir))
        let wal = try WAL.create(directory: dir, metadata: metadata)
        #expect(WAL.exists(directory: dir))
        #expect(!FileManager.default.fileExists(atPath: dir + ".tmp"))
        let entries = makeEntries(1...10) + [Entry(term: 2, index: 11, type: .confChange, data: [])]
        let state = HardState(term: 2, vote: 3, commit: 9)
        try wal.save(hardState: state, entries: entries)
        try wal.sync()
        try wal.close()

        let (reopened, contents) = try WAL.open(directory: dir)
        defer { try? reopened.close() }
        #expect(contents.metadata == metadata)
        #expect(contents.hardState == state)
        #expect(contents.entries == entries)
        #expect(contents.repairedTail == nil)
        let segments = try segmentPaths(dir)
        #expect(segments.map { ($0 as NSString).lastPathComponent } == ["0000000000000000-0000000000000000.wal"])
        #expect(try FileManager.default.attributesOfItem(atPath: segments[0])[.size] as? Int == WAL.defaultSegmentSize)
    }

    @Test func emptyLogAndEmptyMetadata() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        try WAL.create(directory: dir, metadata: [], segmentSize: 4096).close()
        let (wal, contents) = try WAL.open(directory: dir, segmentSize: 4096)
        #expect(contents.metadata == [])
        #expect(contents.hardState.isEmpty)
        #expect(contents.entries.isEmpty)
        try wal.close()
    }

    @Test func closeSyncsPendingSaves() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: 4096)
        try wal.save(entries: makeEntries(1...3))
        try wal.close()
        try wal.close()
        #expect(throws: WALError.closed) { try wal.save(entries: makeEntries(4...4)) }
        let (reopened, contents) = try WAL.open(directory: dir, segmentSize: 4096)
        #expect(contents.entries == makeEntries(1...3))
        try reopened.close()
    }

    @Test func createRefusesExistingLogAndCleansStaleTemporaryDirectory() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("nested/wal")
        // Leftovers of a create that crashed half-way.
        try FileManager.default.createDirectory(atPath: dir + ".tmp", withIntermediateDirectories: true)
        try writeFile(dir + ".tmp/0000000000000000-0000000000000000.wal", [1, 2, 3])
        try WAL.create(directory: dir, metadata: metadata, segmentSize: 4096).close()
        #expect(throws: WALError.alreadyExists(directory: dir)) {
            try WAL.create(directory: dir, metadata: metadata, segmentSize: 4096)
        }
        #expect(throws: WALError.notFound(directory: tmp.child("missing"))) {
            try WAL.open(directory: tmp.child("missing"))
        }
    }

    @Test func probingAnEmptyDirectoryLeavesItUsableForCreate() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        #expect(throws: WALError.notFound(directory: dir)) { try WAL.open(directory: dir) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        let wal = try WAL.create(directory: dir + "/", metadata: metadata, segmentSize: 4096)
        #expect(wal.directory == dir)
        try wal.close()
    }

    @Test func manySegmentsWithCutsInsideBatches() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        let segmentSize = 1024
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: segmentSize)
        var expected: [Entry] = []
        var rng = SplitMix64(seed: 42)
        var next: UInt64 = 1
        for batch in 0..<40 {
            let count = Int(rng.next() % 30) + 1
            let batchEntries = (0..<count).map { offset -> Entry in
                let size = Int(rng.next() % 100)
                return Entry(term: 1, index: next + UInt64(offset), data: (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            }
            next += UInt64(count)
            expected += batchEntries
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: next - 1), entries: batchEntries)
            if batch % 3 == 0 { try wal.sync() }
        }
        // One entry larger than a whole segment gets a segment of its own.
        let big = Entry(term: 1, index: next, data: [UInt8](repeating: 7, count: 3 * segmentSize))
        try wal.save(entries: [big])
        expected.append(big)
        try wal.sync()
        try wal.close()

        let segments = try segmentPaths(dir)
        #expect(segments.count > 20)
        let names = segments.map { SegmentName(fileName: ($0 as NSString).lastPathComponent)! }
        #expect(names.map(\.sequence) == (0..<UInt64(names.count)).map { $0 })
        // Each segment's first index is one past the last entry of the segments before it.
        var entriesBefore = 0
        for (position, name) in names.enumerated() {
            #expect(name.firstIndex == (position == 0 ? 0 : UInt64(entriesBefore) + 1))
            entriesBefore += try entryRecords(in: segments[position]).count
        }
        let (reopened, contents) = try WAL.open(directory: dir, segmentSize: segmentSize)
        #expect(contents.entries == expected)
        #expect(contents.hardState == HardState(term: 1, vote: 1, commit: next - 1))
        // Appending after reopening continues in order.
        try reopened.save(entries: makeEntries((next + 1)...(next + 50)))
        try reopened.close()
        let (again, contents2) = try WAL.open(directory: dir, segmentSize: segmentSize)
        #expect(contents2.entries == expected + makeEntries((next + 1)...(next + 50)))
        try again.close()
    }

    @Test func overwrittenSuffixReplacesLaterEntries() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: 2048)
        try wal.save(entries: makeEntries(1...60, term: 1))
        try wal.sync()
        // A new leader overwrites the uncommitted suffix from index 41, in a later segment.
        try wal.save(hardState: HardState(term: 2, vote: 0, commit: 40), entries: makeEntries(41...45, term: 2))
        try wal.sync()
        try wal.save(entries: makeEntries(44...44, term: 3))
        try wal.close()
        #expect(try segmentPaths(dir).count > 1)

        let (reopened, contents) = try WAL.open(directory: dir, segmentSize: 2048)
        #expect(contents.entries == makeEntries(1...40, term: 1) + makeEntries(41...43, term: 2) + makeEntries(44...44, term: 3))
        #expect(contents.hardState.commit == 40)
        try reopened.close()
    }

    @Test func hardStateOnlyRecords() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: 512)
        for term in UInt64(1)...100 {
            try wal.save(hardState: HardState(term: term, vote: term % 3, commit: 0))
            if term % 10 == 0 { try wal.sync() }
        }
        try wal.save(hardState: HardState())  // an empty hard state is not recorded
        try wal.close()
        #expect(try segmentPaths(dir).count > 1)
        let (reopened, contents) = try WAL.open(directory: dir, segmentSize: 512)
        #expect(contents.hardState == HardState(term: 100, vote: 1, commit: 0))
        #expect(contents.entries.isEmpty)
        try reopened.close()
    }

    @Test func snapshotMarkersAndSegmentRemoval() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: 1024)
        try wal.save(hardState: HardState(term: 2, vote: 1, commit: 100), entries: makeEntries(1...100, term: 2))
        try wal.saveSnapshot(SnapshotMarker(index: 50, term: 2))
        try wal.save(entries: makeEntries(101...120, term: 2))
        try wal.sync()
        let before = try segmentPaths(dir)
        #expect(before.count > 3)

        let removed = try wal.removeSegments(coveredBy: 50)
        #expect(!removed.isEmpty)
        #expect(try segmentPaths(dir) == Array(before.dropFirst(removed.count)))
        // The segment still needed for the snapshot stays: its first index is <= 50.
        let firstKept = SegmentName(fileName: (try segmentPaths(dir)[0] as NSString).lastPathComponent)!
        #expect(firstKept.firstIndex <= 50)
        try wal.close()

        let (fromSnapshot, contents) = try WAL.open(directory: dir, snapshot: SnapshotMarker(index: 50, term: 2), segmentSize: 1024)
        #expect(contents.entries == makeEntries(51...120, term: 2))
        #expect(contents.hardState == HardState(term: 2, vote: 1, commit: 100))
        #expect(contents.metadata == metadata)
        try fromSnapshot.close()

        let mismatch = #expect(throws: WALError.self) {
            try WAL.open(directory: dir, snapshot: SnapshotMarker(index: 50, term: 3), segmentSize: 1024)
        }
        guard case .snapshotTermMismatch(_, _, let expected, let found) = mismatch else {
            Issue.record("unexpected \(String(describing: mismatch))")
            return
        }
        #expect(expected == SnapshotMarker(index: 50, term: 3) && found == SnapshotMarker(index: 50, term: 2))
        #expect(throws: WALError.snapshotNotFound(directory: dir, snapshot: SnapshotMarker(index: 60, term: 2))) {
            _ = try WAL.open(directory: dir, snapshot: SnapshotMarker(index: 60, term: 2), segmentSize: 1024)
        }
        #expect(throws: WALError.noSegmentForSnapshot(directory: dir, snapshot: .origin)) {
            _ = try WAL.open(directory: dir, segmentSize: 1024)
        }
    }

    @Test func secondOpenIsLocked() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: 4096)
        let error = #expect(throws: WALError.self) { try WAL.open(directory: dir, segmentSize: 4096) }
        #expect(error == .locked(directory: dir))
        #expect(error?.description.contains("is locked by another process") == true)
        try wal.close()
        let (second, _) = try WAL.open(directory: dir, segmentSize: 4096)
        #expect(throws: WALError.locked(directory: dir)) { try WAL.open(directory: dir, segmentSize: 4096) }
        try second.close()
    }

    @Test func missingSegmentIsAnError() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: 512)
        try wal.save(entries: makeEntries(1...100))
        try wal.close()
        let segments = try segmentPaths(dir)
        #expect(segments.count > 3)
        try FileManager.default.removeItem(atPath: segments[2])
        let error = #expect(throws: WALError.self) { try WAL.open(directory: dir, segmentSize: 512) }
        guard case .missingSegment(_, let expected, _) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(expected == 2)
    }

    @Test func interruptedSegmentCreationIsIgnored() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: 4096)
        try wal.save(entries: makeEntries(1...5))
        try wal.close()
        let stale = dir + "/0000000000000001-0000000000000006.wal.tmp"
        try writeFile(stale, [9, 9, 9])
        let (reopened, contents) = try WAL.open(directory: dir, segmentSize: 4096)
        #expect(contents.entries == makeEntries(1...5))
        #expect(!FileManager.default.fileExists(atPath: stale))
        try reopened.close()
    }

    @Test func segmentNames() {
        let name = SegmentName(sequence: 0x1f, firstIndex: 0xabc)
        #expect(name.fileName == "000000000000001f-0000000000000abc.wal")
        #expect(SegmentName(fileName: name.fileName) == name)
        #expect(SegmentName(fileName: "000000000000001f-0000000000000abc.wal.tmp") == nil)
        #expect(SegmentName(fileName: "000000000000001F-0000000000000abc.wal") == nil)
        #expect(SegmentName(fileName: "wal.lock") == nil)
    }
}
