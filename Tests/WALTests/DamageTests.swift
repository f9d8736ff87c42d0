import Foundation
import Raft
import SwetcdTestSupport
import Testing
@testable import WAL

/// Torn writes at the end of the log are repaired; damage anywhere else is a clear error.
@Suite struct DamageTests {
    static let segmentSize = 16 << 10
    let metadata: [UInt8] = [1, 2, 3]
    let state = HardState(term: 1, vote: 1, commit: 15)

    /// A log of entries 1...20 whose last record is entry 20 (70 bytes + 2 of padding).
    func makePristine(_ tmp: TemporaryDirectory) throws -> String {
        let dir = tmp.child("pristine")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: Self.segmentSize)
        try wal.save(entries: makeEntries(1...10, size: 37))
        try wal.sync()
        try wal.save(hardState: state, entries: makeEntries(11...19, size: 37))
        try wal.sync()
        try wal.save(entries: makeEntries(20...20, size: 37))
        try wal.close()
        return dir
    }

    func open(_ dir: String) throws -> (WAL, WALContents) {
        try WAL.open(directory: dir, segmentSize: Self.segmentSize)
    }

    @Test(arguments: [false, true])
    func tornTailAtEveryOffsetOfTheLastRecord(truncating: Bool) throws {
        let tmp = TemporaryDirectory()
        let pristine = try makePristine(tmp)
        let last = try #require(try records(in: try segmentPaths(pristine)[0]).last)
        #expect(last.length == 70)
        let frame = RecordLayout.frameSize(payloadSize: last.length - RecordLayout.headerSize)
        let work = tmp.child("work")
        for cut in 0..<frame {
            try copyDirectory(pristine, to: work)
            let segment = try segmentPaths(work)[0]
            if truncating {
                truncateFile(segment, to: last.offset + cut)
            } else {
                try zeroTail(segment, from: last.offset + cut)
            }
            let (wal, contents) = try open(work)
            let complete = cut >= last.length
            #expect(contents.entries == makeEntries(1...(complete ? 20 : 19), size: 37), "cut at \(cut)")
            #expect(contents.hardState == state)
            if complete || cut == 0 {
                #expect(contents.repairedTail == nil, "cut at \(cut)")
            } else {
                let repair = try #require(contents.repairedTail, "cut at \(cut)")
                #expect(repair.offset == last.offset && repair.file == segment)
                #expect(repair.bytesDropped > 0 && repair.bytesDropped <= cut)
            }
            // The repaired log takes new records where the torn one was.
            try wal.save(entries: [Entry(term: 2, index: 20, data: [42])])
            try wal.sync()
            try wal.close()
            let (again, reread) = try open(work)
            #expect(reread.entries == makeEntries(1...19, size: 37) + [Entry(term: 2, index: 20, data: [42])], "cut at \(cut)")
            #expect(reread.repairedTail == nil)
            try again.close()
        }
    }

    @Test func bitFlipsInAMiddleRecordAreCorruption() throws {
        let tmp = TemporaryDirectory()
        let pristine = try makePristine(tmp)
        let target = try entryRecords(in: try segmentPaths(pristine)[0])[9]  // entry 10
        let work = tmp.child("work")
        for byte in 0..<target.length {
            for bit in [0, 3, 7] {
                try copyDirectory(pristine, to: work)
                let segment = try segmentPaths(work)[0]
                try flipBit(segment, at: target.offset + byte, bit: bit)
                let error = #expect(throws: WALError.self, "byte \(byte) bit \(bit)") { try open(work) }
                guard case .corruptRecord(let file, let offset, _) = error else {
                    Issue.record("byte \(byte) bit \(bit): unexpected \(String(describing: error))")
                    continue
                }
                #expect(file == segment && offset == target.offset)
                let message = error?.description ?? ""
                #expect(message.contains(segment) && message.contains("offset \(target.offset)"))
            }
        }
    }

    @Test func zeroedMiddleRecordIsNotMistakenForTheEnd() throws {
        let tmp = TemporaryDirectory()
        let dir = try makePristine(tmp)
        let segment = try segmentPaths(dir)[0]
        let target = try entryRecords(in: segment)[4]
        var bytes = try readFile(segment)
        for i in target.offset..<(target.offset + target.length) { bytes[i] = 0 }
        try writeFile(segment, bytes)
        let error = #expect(throws: WALError.self) { try open(dir) }
        guard case .corruptRecord(_, let offset, let reason) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(offset == target.offset)
        #expect(reason.contains("followed by a valid record"))
    }

    @Test func bitFlipInTheLastRecordFollowedByZerosIsATornTail() throws {
        let tmp = TemporaryDirectory()
        let pristine = try makePristine(tmp)
        let last = try #require(try records(in: try segmentPaths(pristine)[0]).last)
        let work = tmp.child("work")
        for byte in 0..<last.length {
            try copyDirectory(pristine, to: work)
            let segment = try segmentPaths(work)[0]
            try flipBit(segment, at: last.offset + byte, bit: byte % 8)
            let (wal, contents) = try open(work)
            #expect(contents.entries == makeEntries(1...19, size: 37), "byte \(byte)")
            #expect(contents.repairedTail?.offset == last.offset, "byte \(byte)")
            try wal.close()
        }
    }

    @Test func garbageAfterTheLastRecordIsZeroed() throws {
        let tmp = TemporaryDirectory()
        let dir = try makePristine(tmp)
        let segment = try segmentPaths(dir)[0]
        let last = try #require(try records(in: segment).last)
        let end = RecordLayout.frameSize(payloadSize: last.length - RecordLayout.headerSize) + last.offset
        var bytes = try readFile(segment)
        var rng = SplitMix64(seed: 3)
        for i in (end + 8)..<(end + 300) { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
        try writeFile(segment, bytes)
        let (wal, contents) = try open(dir)
        #expect(contents.entries == makeEntries(1...20, size: 37))
        #expect(contents.repairedTail?.offset == end)
        #expect(contents.repairedTail?.bytesDropped == 300)
        try wal.close()
        #expect(try readFile(segment)[end..<(end + 400)].allSatisfy { $0 == 0 })
    }

    @Test func damageInAnEarlierSegmentIsCorruptionEvenAtItsEnd() throws {
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: 1024)
        try wal.save(entries: makeEntries(1...40))
        try wal.close()
        let segments = try segmentPaths(dir)
        #expect(segments.count > 2)
        let last = try #require(try entryRecords(in: segments[0]).last)
        try flipBit(segments[0], at: last.offset + 20)
        let error = #expect(throws: WALError.self) { try WAL.open(directory: dir, segmentSize: 1024) }
        guard case .corruptRecord(let file, let offset, _) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(file == segments[0] && offset == last.offset)
    }

    @Test func damagedSegmentHeaderIsAnError() throws {
        let tmp = TemporaryDirectory()
        let dir = try makePristine(tmp)
        let other = tmp.child("copy")
        try copyDirectory(dir, to: other)
        let segment = try segmentPaths(dir)[0]
        try flipBit(segment, at: 20)
        let error = #expect(throws: WALError.self) { try open(dir) }
        guard case .badSegment(let file, _) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(file == segment)

        // A segment renamed to a name its header does not match is refused too.
        let renamed = other + "/0000000000000000-0000000000000005.wal"
        try FileManager.default.moveItem(atPath: try segmentPaths(other)[0], toPath: renamed)
        #expect(throws: WALError.self) { try WAL.open(directory: other, snapshot: SnapshotMarker(index: 5, term: 1)) }
    }
}
