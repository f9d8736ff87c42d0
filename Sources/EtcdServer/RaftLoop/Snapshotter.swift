import Checksum
import Foundation
import Raft

/// Raft snapshot files in `member/snap`: `<term>-<index>.snap` (16 hex digits each), holding
/// the snapshot's metadata and data behind a checksum. The state itself is the backend
/// database; a snapshot's data only carries what the backend does not (membership is in the
/// backend too, so today the data is small).
struct Snapshotter {
    let directory: String

    enum SnapshotterError: Error, CustomStringConvertible {
        case corrupt(String)

        var description: String {
            switch self {
            case .corrupt(let file): return "snapshot file \(file) is corrupt (checksum or format mismatch)"
            }
        }
    }

    private static let magic: [UInt8] = Array("SWSNAP1\n".utf8)

    /// Writes the snapshot durably (temp file, fsync, rename, directory fsync).
    func save(_ snapshot: Snapshot) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let name = String(format: "%016llx-%016llx.snap", snapshot.metadata.term, snapshot.metadata.index)
        let body = Self.encode(snapshot)
        var bytes = Self.magic
        bytes.append(contentsOf: UInt64(Self.checksum(body)).bigEndianBytes)
        bytes.append(contentsOf: body)
        let temporary = directory + "/" + name + ".tmp"
        let data = Data(bytes)
        _ = FileManager.default.createFile(atPath: temporary, contents: data)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        try FileManager.default.moveItem(atPath: temporary, toPath: directory + "/" + name)
        Self.syncDirectory(directory)
    }

    /// The newest readable snapshot, skipping (and reporting) damaged files; nil when none.
    func loadNewest(onCorrupt: (String) -> Void = { _ in }) throws -> Snapshot? {
        for name in snapshotFiles().reversed() {
            do {
                return try load(directory + "/" + name)
            } catch {
                onCorrupt(name)
            }
        }
        return nil
    }

    /// The snapshot files, oldest first.
    func snapshotFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".snap") }.sorted()
    }

    /// The index of the oldest snapshot file kept.
    func oldestSnapshotIndex() -> UInt64? {
        guard let name = snapshotFiles().first, let dash = name.firstIndex(of: "-") else { return nil }
        return UInt64(name[name.index(after: dash)...].dropLast(".snap".count), radix: 16)
    }

    /// Deletes all but the newest `keep` snapshot files.
    func purge(keep: Int) {
        let files = snapshotFiles()
        guard keep > 0, files.count > keep else { return }
        for name in files.prefix(files.count - keep) {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    func load(_ path: String) throws -> Snapshot {
        let bytes = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
        guard bytes.count >= Self.magic.count + 8, Array(bytes.prefix(Self.magic.count)) == Self.magic else {
            throw SnapshotterError.corrupt(path)
        }
        let stored = bytes[Self.magic.count..<Self.magic.count + 8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let body = Array(bytes[(Self.magic.count + 8)...])
        guard UInt64(Self.checksum(body)) == stored, let snapshot = Self.decode(body) else {
            throw SnapshotterError.corrupt(path)
        }
        return snapshot
    }

    // MARK: Encoding

    static func encode(_ snapshot: Snapshot) -> [UInt8] {
        var out: [UInt8] = []
        let metadata = snapshot.metadata
        out += metadata.term.bigEndianBytes
        out += metadata.index.bigEndianBytes
        let cs = metadata.confState
        for list in [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext] {
            out += UInt64(list.count).bigEndianBytes
            for id in list { out += id.bigEndianBytes }
        }
        out.append(cs.autoLeave ? 1 : 0)
        out += UInt64(snapshot.data.count).bigEndianBytes
        out += snapshot.data
        return out
    }

    static func decode(_ bytes: [UInt8]) -> Snapshot? {
        var offset = 0
        func next() -> UInt64? {
            guard offset + 8 <= bytes.count else { return nil }
            defer { offset += 8 }
            return bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        guard let term = next(), let index = next() else { return nil }
        var lists: [[UInt64]] = []
        for _ in 0..<4 {
            guard let count = next(), count < 1 << 20 else { return nil }
            var list: [UInt64] = []
            for _ in 0..<count {
                guard let id = next() else { return nil }
                list.append(id)
            }
            lists.append(list)
        }
        guard offset < bytes.count else { return nil }
        let autoLeave = bytes[offset] == 1
        offset += 1
        // Compared as UInt64: a damaged length past Int.max must not trap on conversion.
        guard let length = next(), offset <= bytes.count, length == UInt64(bytes.count - offset) else { return nil }
        let confState = ConfState(
            voters: lists[0], learners: lists[1], votersOutgoing: lists[2], learnersNext: lists[3], autoLeave: autoLeave)
        return Snapshot(
            data: Array(bytes[offset...]), metadata: SnapshotMetadata(confState: confState, index: index, term: term))
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { CRC32C.checksum($0) }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
