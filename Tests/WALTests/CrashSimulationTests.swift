import Foundation
import Raft
import HarnessSupport
import Testing
@testable import WAL

/// Simulated crashes during writes: the file ends anywhere in the written bytes (a file
/// extended by the write), or a prefix of whole sectors of them reached the disk (the rest of
/// the preallocated segment stays zero; Linux copies a `pwrite` a page at a time and disks
/// write whole sectors, so a crash never leaves part of a sector). After every
/// simulated crash the log must open, hold everything synced before the interrupted batch,
/// plus some prefix of that batch, and accept new writes.
@Suite struct CrashSimulationTests {
    static let segmentSize = 4096

    struct Model {
        /// The whole log, entry i at position i - 1.
        var log: [Entry] = []
        var state = HardState()
        var snapshot = SnapshotMarker.origin
        var term: UInt64 = 1

        func applying(_ batch: [Entry]) -> [Entry] {
            guard let first = batch.first else { return log }
            return Array(log.prefix(Int(first.index) - 1)) + batch
        }

        var visible: [Entry] { Array(log.dropFirst(Int(snapshot.index))) }
    }

    static func randomBatch(_ model: inout Model, _ rng: inout SplitMix64) -> [Entry] {
        let count = Int(rng.next() % 12) + 1
        var start = UInt64(model.log.count) + 1
        // Sometimes a new leader overwrites part of the uncommitted suffix.
        if rng.next() % 5 == 0, model.log.count > Int(model.snapshot.index) + 1 {
            let back = min(UInt64(model.log.count) - model.snapshot.index - 1, rng.next() % 6)
            start -= back
            model.term += 1
        }
        return (0..<count).map { offset in
            let size = Int(rng.next() % 180)
            return Entry(term: model.term, index: start + UInt64(offset),
                         data: (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
    }

    /// Where the data of the last segment ends (after its last valid record).
    static func endOfData(_ path: String) throws -> Int {
        let last = try #require(try records(in: path).last)
        return last.offset + RecordLayout.frameSize(payloadSize: last.length - RecordLayout.headerSize)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func killDuringWritesNeverLosesSyncedDataOrBlocksOpening(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let tmp = TemporaryDirectory()
        let dir = tmp.child("wal")
        var wal: WAL? = try WAL.create(directory: dir, metadata: [7], segmentSize: Self.segmentSize)
        var model = Model()
        var repairs = 0

        for round in 0..<120 {
            // Batches that complete (saved and synced).
            for _ in 0..<(rng.next() % 3) {
                let batch = Self.randomBatch(&model, &rng)
                model.log = model.applying(batch)
                model.state = HardState(term: model.term, vote: 1, commit: UInt64(model.log.count) / 2)
                try wal!.save(hardState: model.state, entries: batch)
                try wal!.sync()
            }
            // Every so often a snapshot lets old segments go.
            if round % 15 == 14, model.state.commit > model.snapshot.index {
                let index = model.state.commit
                model.snapshot = SnapshotMarker(index: index, term: model.log[Int(index) - 1].term)
                try wal!.saveSnapshot(model.snapshot)
                try wal!.removeSegments(coveredBy: index)
            }

            // The interrupted batch: its bytes reach the file, then the process dies part-way.
            let tailBefore = try segmentPaths(dir).last!
            let startBefore = try Self.endOfData(tailBefore)
            let batch = Self.randomBatch(&model, &rng)
            let newState = HardState(term: model.term, vote: 1, commit: UInt64(model.applying(batch).count) / 2)
            try wal!.save(hardState: newState, entries: batch)
            try wal!.sync()
            wal = nil  // the process is gone: descriptors closed, nothing more written

            let tail = try segmentPaths(dir).last!
            // Segments before the last were synced when they were cut; only the last can tear.
            let regionStart = tail == tailBefore ? startBefore : try records(in: tail).prefix { $0.type != RecordType.entry.rawValue }.last.map {
                $0.offset + RecordLayout.frameSize(payloadSize: $0.length - RecordLayout.headerSize)
            }!
            let regionEnd = try Self.endOfData(tail)
            let crashAt = regionStart + Int(rng.next() % UInt64(regionEnd - regionStart + 1))
            if rng.next() % 2 == 0 {
                truncateFile(tail, to: crashAt)
            } else {
                let sector = RecordLayout.sectorSize
                try zeroTail(tail, from: (crashAt + sector - 1) / sector * sector)
            }

            let (reopened, contents) = try WAL.open(directory: dir, snapshot: model.snapshot, segmentSize: Self.segmentSize)
            wal = reopened
            if contents.repairedTail != nil { repairs += 1 }
            // Some prefix of the interrupted batch survived, nothing synced before it was lost.
            let survivors = (0...batch.count).first { kept in
                model.applying(Array(batch.prefix(kept))).dropFirst(Int(model.snapshot.index)).elementsEqual(contents.entries)
            }
            let kept = try #require(survivors, "seed \(seed) round \(round): log is not a prefix extension")
            #expect(contents.hardState == model.state || (kept == batch.count && contents.hardState == newState),
                    "seed \(seed) round \(round)")
            #expect(contents.metadata == [7])
            model.log = model.applying(Array(batch.prefix(kept)))
            model.state = contents.hardState
            #expect(model.visible == contents.entries)
        }
        #expect(repairs > 20)
        try wal?.close()
    }
}
