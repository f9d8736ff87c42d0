import Raft

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `WAL.open` found in the log.
public struct WALContents: Sendable {
    /// The metadata blob given to `WAL.create`.
    public var metadata: [UInt8]
    /// The last hard state saved (empty if none was).
    public var hardState: HardState
    /// Every entry after the snapshot `open` started from, in log order, with overwritten
    /// suffixes already replaced by what overwrote them.
    public var entries: [Entry]
    /// Set when a torn write at the end of the log was cut away; worth a log line.
    public var repairedTail: TailRepair?
}

/// A torn record at the end of the log that `open` removed. Only unsynced data can be torn,
/// so nothing acknowledged is lost.
public struct TailRepair: Sendable, Hashable, CustomStringConvertible {
    /// The segment file that was repaired.
    public var file: String
    /// Where the torn record began; everything from here on was zeroed.
    public var offset: Int
    /// How many bytes (up to the last non-zero one) were dropped.
    public var bytesDropped: Int
    /// What was wrong with the record.
    public var reason: String

    public var description: String {
        "wal: repaired torn tail of \(file): dropped \(bytesDropped) bytes from offset \(offset) (\(reason))"
    }
}

/// Replays records in segment order, applying etcd's rules: entries at or below the snapshot
/// are skipped, an entry at or below the last one read replaces it and everything after it.
struct Replay {
    let snapshot: SnapshotMarker
    var metadata: [UInt8]?
    var hardState = HardState()
    var entries: [Entry] = []
    /// Largest entry or snapshot-marker index seen; names the next segment.
    var highestIndex: UInt64 = 0
    var snapshotFound = false

    init(snapshot: SnapshotMarker) {
        self.snapshot = snapshot
    }

    /// Where reading a segment stopped.
    struct SegmentEnd {
        /// Offset just after the last valid record (where appending continues).
        var offset: Int
        /// Non-nil if the segment ended in a torn record: the bytes `offset..<dirtyEnd` must be zeroed.
        var torn: (reason: String, dirtyEnd: Int)?
    }

    /// Reads one segment whose bytes are in memory. Damage in a segment that is not the last
    /// one, damage followed by valid records, or damage to a record that was written whole is
    /// corruption; an interrupted write at the end of the last segment is a torn write.
    mutating func read(
        _ bytes: UnsafeRawBufferPointer, name: SegmentName, path: String, isLast: Bool
    ) throws -> SegmentEnd {
        var scanner = RecordScanner(bytes)
        try readHeader(&scanner, name: name, path: path)
        while true {
            let offset = scanner.offset
            switch scanner.next() {
            case .record(let type, let payload):
                try apply(type: type, payload: payload, path: path, offset: offset)
            case .end:
                return SegmentEnd(offset: scanner.offset, torn: nil)
            case .damaged(let damage, let resumeAt):
                guard isLast else {
                    throw WALError.corruptRecord(file: path, offset: offset, reason: "\(damage) in a segment that is not the last one")
                }
                if let valid = scanner.firstValidRecord(from: resumeAt) {
                    throw WALError.corruptRecord(file: path, offset: offset, reason: "\(damage), followed by a valid record at offset \(valid)")
                }
                guard scanner.isTornWrite(damage, at: offset) else {
                    throw WALError.corruptRecord(
                        file: path, offset: offset,
                        reason: "crc mismatch: \(damage) in the last record, which was written completely (no sector of it is unwritten)")
                }
                let dirtyEnd = scanner.lastNonZero(from: offset).map { $0 + 1 } ?? offset
                return SegmentEnd(offset: offset, torn: ("\(damage)", dirtyEnd))
            }
        }
    }

    /// Every segment starts with its header and the metadata; both were made durable before
    /// the segment got its name, so any damage there is corruption.
    private mutating func readHeader(_ scanner: inout RecordScanner, name: SegmentName, path: String) throws {
        guard case .record(let type, let payload) = scanner.next(), type == RecordType.segmentHeader.rawValue else {
            throw WALError.badSegment(file: path, reason: "missing or damaged segment header")
        }
        let (decoded, problem) = SegmentHeader.decode(payload)
        guard let header = decoded else { throw WALError.badSegment(file: path, reason: problem) }
        guard header == SegmentHeader(sequence: name.sequence, firstIndex: name.firstIndex) else {
            throw WALError.badSegment(
                file: path,
                reason: "header says sequence \(header.sequence), first index \(header.firstIndex), which does not match the file name")
        }
        let offset = scanner.offset
        guard case .record(let metaType, let metaPayload) = scanner.next(), metaType == RecordType.metadata.rawValue else {
            throw WALError.badSegment(file: path, reason: "missing or damaged metadata record at offset \(offset)")
        }
        try applyMetadata(metaPayload, path: path)
        if name.firstIndex > 0 { highestIndex = max(highestIndex, name.firstIndex - 1) }
    }

    private mutating func applyMetadata(_ payload: UnsafeRawBufferPointer, path: String) throws {
        if let known = metadata {
            guard known.elementsEqual(payload) else { throw WALError.metadataConflict(file: path) }
        } else {
            metadata = [UInt8](payload)
        }
    }

    @inline(__always)
    private mutating func apply(type: UInt8, payload: UnsafeRawBufferPointer, path: String, offset: Int) throws {
        switch type {
        case RecordType.entry.rawValue:
            guard let entry = Entry.decodeWAL(payload) else {
                throw WALError.corruptRecord(file: path, offset: offset, reason: "malformed entry record")
            }
            try append(entry, path: path, offset: offset)
        case RecordType.hardState.rawValue:
            guard let state = HardState.decodeWAL(payload) else {
                throw WALError.corruptRecord(file: path, offset: offset, reason: "malformed hard state record")
            }
            hardState = state
        case RecordType.snapshot.rawValue:
            guard let marker = SnapshotMarker.decodeWAL(payload) else {
                throw WALError.corruptRecord(file: path, offset: offset, reason: "malformed snapshot record")
            }
            if marker.index == snapshot.index {
                guard marker.term == snapshot.term else {
                    throw WALError.snapshotTermMismatch(file: path, offset: offset, expected: snapshot, found: marker)
                }
                snapshotFound = true
            }
            highestIndex = max(highestIndex, marker.index)
        case RecordType.metadata.rawValue:
            try applyMetadata(payload, path: path)
        default:
            throw WALError.unknownRecord(file: path, offset: offset, type: type)
        }
    }

    @inline(__always)
    private mutating func append(_ entry: Entry, path: String, offset: Int) throws {
        highestIndex = max(highestIndex, entry.index)
        guard entry.index > snapshot.index else { return }
        let position = entry.index - snapshot.index - 1
        if position == UInt64(entries.count) {
            entries.append(entry)
        } else if position < UInt64(entries.count) {
            entries.removeSubrange(Int(position)...)
            entries.append(entry)
        } else {
            throw WALError.entryIndexGap(
                file: path, offset: offset, expected: snapshot.index + UInt64(entries.count) + 1, found: entry.index)
        }
    }
}

/// A whole segment file mapped read-only into memory (prefaulted: it is read front to back).
final class SegmentBytes {
    private let base: UnsafeMutableRawPointer?
    let count: Int

    init(fd: Int32, path: String) throws {
        count = try FileIO.size(fd, path: path)
        guard count > 0 else {
            base = nil
            return
        }
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else { throw FileIO.error("mmap", path) }
        base = mapped
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit {
        if let base { munmap(base, count) }
    }
}
