import Foundation
import Raft
import HarnessSupport
import Testing
@testable import WAL

/// Torn writes at the end of the log are repaired; damage anywhere else is a clear error.
@Suite struct DamageTests {
    static let segmentSize = 16 << 10
    let metadata: [UInt8] = [1, 2, 3]
    let state = HardState(term: 1, vote: 1, commit: 15)

    /// Entry 20's data size: its record (1133 bytes + 3 of padding) spans sector boundaries.
    static let lastDataSize = 1100

    /// Entries 1...19 of the pristine log, plus entry 20 if `complete`.
    static func pristineEntries(complete: Bool) -> [Entry] {
        makeEntries(1...19, size: 37) + (complete ? makeEntries(20...20, size: lastDataSize) : [])
    }

    /// A log of entries 1...20 whose last record is entry 20.
    func makePristine(_ tmp: TemporaryDirectory) throws -> String {
        let dir = tmp.child("pristine")
        let wal = try WAL.create(directory: dir, metadata: metadata, segmentSize: Self.segmentSize)
        try wal.save(entries: makeEntries(1...10, size: 37))
        try wal.sync()
        try wal.save(hardState: state, entries: makeEntries(11...19, size: 37))
        try wal.sync()
        try wal.save(entries: makeEntries(20...20, size: Self.lastDataSize))
        try wal.close()
        return dir
    }

    func open(_ dir: String) throws -> (WAL, WALContents) {
        try WAL.open(directory: dir, segmentSize: Self.segmentSize)
    }

    /// A write interrupted anywhere in the last record: the file ends there (truncating), or
    /// the sectors from there on were never written and are still zero.
    @Test(arguments: [false, true])
    func tornTailAtEveryOffsetOfTheLastRecord(truncating: Bool) throws {
        let tmp = TemporaryDirectory()
        let pristine = try makePristine(tmp)
        let last = try #require(try records(in: try segmentPaths(pristine)[0]).last)
        #expect(last.length == 16 + 17 + Self.lastDataSize)
        let frame = RecordLayout.frameSize(payloadSize: last.length - RecordLayout.headerSize)
        let work = tmp.child("work")
        // Disks lose whole sectors, so zeroing starts at a sector boundary.
        let cuts = (0..<frame).filter { truncating || $0 == 0 || (last.offset + $0) % RecordLayout.sectorSize == 0 }
        #expect(cuts.count >= (truncating ? frame : 3))
        for cut in cuts {
            try copyDirectory(pristine, to: work)
            let segment = try segmentPaths(work)[0]
            if truncating {
                truncateFile(segment, to: last.offset + cut)
            } else {
                try zeroTail(segment, from: last.offset + cut)
            }
            let (wal, contents) = try open(work)
            let complete = cut >= last.length
            #expect(contents.entries == Self.pristineEntries(complete: complete), "cut at \(cut)")
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
            #expect(reread.entries == Self.pristineEntries(complete: false) + [Entry(term: 2, index: 20, data: [42])], "cut at \(cut)")
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

    /// A flipped bit in the last record, which was written whole and is followed only by
    /// zeros, is not a torn write: dropping the record could drop an acknowledged write, so
    /// the log is refused (etcd: `walpb: crc mismatch`) and left as it is.
    @Test func bitFlipInTheCompleteLastRecordIsACRCMismatch() throws {
        let tmp = TemporaryDirectory()
        let pristine = try makePristine(tmp)
        let last = try #require(try records(in: try segmentPaths(pristine)[0]).last)
        let work = tmp.child("work")
        // Every header byte, then a spread of payload bytes (the last one included).
        let bytes = Array(0..<RecordLayout.headerSize) + Array(stride(from: RecordLayout.headerSize, to: last.length, by: 37)) + [last.length - 1]
        for byte in bytes {
            try copyDirectory(pristine, to: work)
            let segment = try segmentPaths(work)[0]
            try flipBit(segment, at: last.offset + byte, bit: byte % 8)
            let damaged = try readFile(segment)
            let error = #expect(throws: WALError.self, "byte \(byte)") { try open(work) }
            guard case .corruptRecord(let file, let offset, let reason) = error else {
                Issue.record("byte \(byte): unexpected \(String(describing: error))")
                continue
            }
            #expect(file == segment && offset == last.offset, "byte \(byte)")
            #expect(reason.contains("crc mismatch"), "byte \(byte): \(reason)")
            #expect(try readFile(segment) == damaged, "byte \(byte): the file was changed")
        }
    }

    /// Zeros from the middle of the last record's final sector: that sector was written (a
    /// disk does not write part of one), so the zeros are damage, not a torn write.
    @Test func zerosWithinTheLastRecordsFinalSectorAreACRCMismatch() throws {
        let tmp = TemporaryDirectory()
        let dir = try makePristine(tmp)
        let segment = try segmentPaths(dir)[0]
        let last = try #require(try records(in: segment).last)
        let end = last.offset + last.length
        let finalSector = (end - 1) / RecordLayout.sectorSize * RecordLayout.sectorSize
        #expect(finalSector > last.offset && end - finalSector > 8)
        try zeroTail(segment, from: end - 8)
        let damaged = try readFile(segment)
        let error = #expect(throws: WALError.self) { try open(dir) }
        guard case .corruptRecord(_, let offset, let reason) = error else {
            Issue.record("unexpected \(String(describing: error))")
            return
        }
        #expect(offset == last.offset && reason.contains("crc mismatch"))
        #expect(try readFile(segment) == damaged)
    }

    /// Sectors may reach the disk out of order: a last record whose middle sector is still
    /// zero while its final sector was written is torn, and is repaired.
    @Test func lastRecordWithAnUnwrittenMiddleSectorIsRepaired() throws {
        let tmp = TemporaryDirectory()
        let dir = try makePristine(tmp)
        let segment = try segmentPaths(dir)[0]
        let last = try #require(try records(in: segment).last)
        let firstBoundary = (last.offset / RecordLayout.sectorSize + 1) * RecordLayout.sectorSize
        #expect(firstBoundary + RecordLayout.sectorSize < last.offset + last.length)
        var bytes = try readFile(segment)
        for i in firstBoundary..<(firstBoundary + RecordLayout.sectorSize) { bytes[i] = 0 }
        try writeFile(segment, bytes)
        let (wal, contents) = try open(dir)
        #expect(contents.entries == Self.pristineEntries(complete: false))
        #expect(contents.repairedTail?.offset == last.offset)
        try wal.close()
        #expect(try readFile(segment)[last.offset..<(last.offset + last.length)].allSatisfy { $0 == 0 })
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
        #expect(contents.entries == Self.pristineEntries(complete: true))
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
