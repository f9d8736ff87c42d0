import Checksum
import EtcdServer
import Foundation
import FuzzSupport
import Raft
import WAL

/// The files a restarting member reads: a WAL segment or a snapshot file, then the Raft
/// state built from what was read (Bootstrap's restart). The first byte picks the file
/// (bit 0: WAL or snapshot) and whether its checksums are made valid first (bit 1), so that
/// damage gets past them to the decoders; the rest is the file.
enum StorageFilesTarget: FuzzTarget {
    static let walSegmentName = "0000000000000000-0000000000000000.wal"
    static let snapshotName = "0000000000000001-0000000000000002.snap"
    /// Small segments keep the preallocation of each run cheap.
    static let segmentSize = 1 << 16

    static func run(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        var file = Array(input.dropFirst())
        let scratch = ScratchDirectory()
        withExtendedLifetime(scratch) {
            if selector & 1 == 0 {
                if selector & 2 != 0 { WALChecksums.fix(&file) }
                replayWAL(file, in: scratch.path + "/wal")
            } else {
                if selector & 2 != 0 { file = SnapshotChecksum.framed(file) }
                loadSnapshot(file, in: scratch.path + "/snap")
            }
        }
    }

    private static func replayWAL(_ segment: [UInt8], in directory: String) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/" + walSegmentName, contents: Data(segment))
        guard let opened = try? WAL.open(directory: directory, segmentSize: segmentSize) else { return }
        let (wal, contents) = opened
        restart(snapshot: nil, hardState: contents.hardState, entries: contents.entries)
        // What the WAL accepted it must keep accepting after appending to it.
        let next = (contents.entries.last?.index ?? 0) + 1
        do {
            try wal.save(hardState: contents.hardState, entries: [Entry(term: contents.hardState.term, index: next)])
            try wal.sync()
            try wal.close()
            let (reopened, _) = try WAL.open(directory: directory, segmentSize: segmentSize)
            try reopened.close()
        } catch {
            fatalError("the WAL opened, then could not append and reopen: \(error)")
        }
    }

    private static func loadSnapshot(_ file: [UInt8], in directory: String) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/" + snapshotName, contents: Data(file))
        guard let snapshot = try? SnapshotFiles.loadNewest(in: directory) else { return }
        restart(snapshot: snapshot, hardState: HardState(), entries: [])
    }

    /// Bootstrap's restart: the storage from the snapshot and the WAL, then Raft on it.
    private static func restart(snapshot: Snapshot?, hardState: HardState, entries: [Entry]) {
        let storage = MemoryStorage()
        if let snapshot {
            do { try storage.applySnapshot(snapshot) } catch { return }
        }
        storage.setHardState(hardState)
        storage.append(entries)
        _ = try? RawNode(config: Config(id: 1, applied: snapshot?.metadata.index ?? 0), storage: storage)
    }
}

/// Recomputes the checksums of a WAL segment's records (layout in Sources/WAL/Record.swift)
/// wherever a plausible frame length leads, so that mutations reach the payload decoders.
enum WALChecksums {
    static func fix(_ bytes: inout [UInt8]) {
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(littleEndian32(bytes, offset))
            guard length >= 16, offset + length <= bytes.count else { return }
            store(CRC32C.checksum(bytes[(offset + 16)..<(offset + length)]), in: &bytes, at: offset + 8)
            store(CRC32C.checksum(bytes[offset..<(offset + 12)]), in: &bytes, at: offset + 12)
            offset += (length + 7) & ~7
        }
    }

    private static func littleEndian32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    private static func store(_ value: UInt32, in bytes: inout [UInt8], at offset: Int) {
        for byte in 0..<4 { bytes[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(byte))) }
    }
}

/// A snapshot file around a body: magic, big-endian CRC-32C of the body, the body
/// (layout in Sources/EtcdServer/Server/Snapshotter.swift).
enum SnapshotChecksum {
    static let magic = Array("SWSNAP1\n".utf8)

    static func framed(_ body: [UInt8]) -> [UInt8] {
        let crc = UInt64(CRC32C.checksum(body))
        return magic + (0..<8).map { UInt8(truncatingIfNeeded: crc >> (56 - 8 * UInt64($0))) } + body
    }

    /// The body of a snapshot file, or nil if it is not one.
    static func body(of file: [UInt8]) -> [UInt8]? {
        file.starts(with: magic) && file.count >= 16 ? Array(file.dropFirst(16)) : nil
    }
}
