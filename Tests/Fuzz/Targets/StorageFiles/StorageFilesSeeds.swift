import EtcdServer
import Foundation
import FuzzSupport
import Raft
import WAL

/// Seeds: files as a member writes them — WAL segments with entries, hard states and a
/// snapshot marker; snapshot files with joint configurations — each raw and, for the
/// checksum-fixing modes, as the bytes those modes take.
extension StorageFilesTarget {
    static func seeds() throws -> [(name: String, input: [UInt8])] {
        var seeds: [(name: String, input: [UInt8])] = []
        for (name, segment) in try walSegments() {
            seeds.append(("wal-\(name)", [0] + segment))
            seeds.append(("wal-\(name)-fixed", [2] + segment))
        }
        for (name, file) in try snapshotFiles() {
            seeds.append(("snap-\(name)", [1] + file))
            seeds.append(("snap-\(name)-fixed", [3] + (SnapshotChecksum.body(of: file) ?? [])))
        }
        return seeds
    }

    private static func walSegments() throws -> [(String, [UInt8])] {
        let large = Entry(term: 2, index: 3, type: .normal, data: Array(repeating: 0xAB, count: 300))
        let change = Entry(term: 2, index: 4, type: .confChange, data: ConfChange(type: .addNode, nodeID: 4).encoded())
        let logs: [(String, [Entry], HardState, SnapshotMarker?)] = [
            ("empty", [], HardState(), nil),
            ("entries", [Entry(term: 1, index: 1, data: [1]), Entry(term: 1, index: 2), large, change], HardState(term: 2, vote: 1, commit: 3), nil),
            ("overwrite", [Entry(term: 1, index: 1), Entry(term: 1, index: 2), Entry(term: 3, index: 2)], HardState(term: 3, vote: 2, commit: 1), nil),
            ("snapshot", [Entry(term: 4, index: 11)], HardState(term: 4, vote: 0, commit: 11), SnapshotMarker(index: 10, term: 4)),
        ]
        return try logs.map { name, entries, hardState, marker in
            let scratch = ScratchDirectory()
            let wal = try WAL.create(directory: scratch.path + "/wal", metadata: Array("meta".utf8), segmentSize: segmentSize)
            if let marker { try wal.saveSnapshot(marker) }
            try wal.save(hardState: hardState, entries: entries)
            try wal.sync()
            try wal.close()
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/wal/" + walSegmentName)))
            // Drop the preallocated zeros (libFuzzer's inputs stay small), keeping 8-byte alignment.
            let used = ((bytes.lastIndex { $0 != 0 }.map { $0 + 1 } ?? 0) + 7) & ~7
            return (name, Array(bytes.prefix(used)))
        }
    }

    private static func snapshotFiles() throws -> [(String, [UInt8])] {
        let snapshots: [(String, Snapshot)] = [
            ("voters", Snapshot(data: [1, 2, 3], metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 2, term: 1))),
            ("joint", Snapshot(metadata: SnapshotMetadata(
                confState: ConfState(voters: [1, 2], learners: [4], votersOutgoing: [1, 3], learnersNext: [3], autoLeave: true),
                index: 9, term: 3))),
        ]
        return try snapshots.map { name, snapshot in
            let scratch = ScratchDirectory()
            try SnapshotFiles.save(snapshot, in: scratch.path)
            let file = try FileManager.default.contentsOfDirectory(atPath: scratch.path).first { $0.hasSuffix(".snap") }!
            return (name, [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/" + file))))
        }
    }
}
