#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that can go wrong with a write-ahead log. Each message says what happened,
/// where (file and byte offset when there is one) and what an operator can do about it.
public enum WALError: Error, Equatable, CustomStringConvertible {
    /// `open` found no WAL segments in the directory.
    case notFound(directory: String)
    /// `create` was asked to make a WAL where one already exists.
    case alreadyExists(directory: String)
    /// Another process (or another `WAL` in this one) holds the directory's lock.
    case locked(directory: String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A record that is not the torn end of the log is damaged: data that was acknowledged
    /// may be affected, so the log is not opened.
    case corruptRecord(file: String, offset: Int, reason: String)
    /// A segment's header is missing, damaged, or does not match the file's name.
    case badSegment(file: String, reason: String)
    /// The segment sequence has a hole: `expectedSequence` is missing before `found`.
    case missingSegment(directory: String, expectedSequence: UInt64, found: String)
    /// No segment can hold the entries after `snapshot` (older segments were removed).
    case noSegmentForSnapshot(directory: String, snapshot: SnapshotMarker)
    /// The log has no marker for the snapshot `open` was asked to start from.
    case snapshotNotFound(directory: String, snapshot: SnapshotMarker)
    /// The log has a marker at the snapshot's index, but with another term.
    case snapshotTermMismatch(file: String, offset: Int, expected: SnapshotMarker, found: SnapshotMarker)
    /// Two segments carry different metadata.
    case metadataConflict(file: String)
    /// An entry does not follow the entries before it.
    case entryIndexGap(file: String, offset: Int, expected: UInt64, found: UInt64)
    /// A record with a valid checksum that this version does not understand.
    case unknownRecord(file: String, offset: Int, type: UInt8)
    /// The WAL was closed.
    case closed
    /// An earlier write or sync failed; after that nothing about the file's contents is
    /// certain, so the WAL refuses further work. Restart (and re-open) the process.
    case failed(previous: String)

    public var description: String {
        switch self {
        case .notFound(let directory):
            return "wal: no WAL segments in \(directory)"
        case .alreadyExists(let directory):
            return "wal: \(directory) already holds a WAL; open it instead of creating one"
        case .locked(let directory):
            return "wal: \(directory) is locked by another process (is another member running with the same data dir?)"
        case .io(let operation, let path, let code):
            return "wal: \(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
        case .corruptRecord(let file, let offset, let reason):
            return "wal: corrupt record in \(file) at offset \(offset): \(reason). "
                + "This is not a torn write at the end of the log, so acknowledged data may be damaged; "
                + "the WAL will not be opened. Restore the member from a backup or snapshot, "
                + "or remove it from the cluster and re-add it with an empty data dir."
        case .badSegment(let file, let reason):
            return "wal: bad segment \(file): \(reason). The WAL will not be opened; "
                + "restore the member from a backup or re-add it with an empty data dir."
        case .missingSegment(let directory, let expected, let found):
            return "wal: segment with sequence \(expected) is missing from \(directory) (next present: \(found)); "
                + "the log has a hole and cannot be replayed"
        case .noSegmentForSnapshot(let directory, let snapshot):
            return "wal: no segment in \(directory) covers the log after snapshot \(snapshot); "
                + "the segments it needs were removed"
        case .snapshotNotFound(let directory, let snapshot):
            return "wal: the log in \(directory) has no marker for snapshot \(snapshot); "
                + "the snapshot does not belong to this log"
        case .snapshotTermMismatch(let file, let offset, let expected, let found):
            return "wal: snapshot marker \(found) in \(file) at offset \(offset) does not match the snapshot \(expected)"
        case .metadataConflict(let file):
            return "wal: \(file) carries metadata different from the previous segments"
        case .entryIndexGap(let file, let offset, let expected, let found):
            return "wal: entry at offset \(offset) in \(file) has index \(found), expected at most \(expected); "
                + "the log has a hole"
        case .unknownRecord(let file, let offset, let type):
            return "wal: record of unknown type \(type) in \(file) at offset \(offset) "
                + "(written by a newer version of swetcd?)"
        case .closed:
            return "wal: the log is closed"
        case .failed(let previous):
            return "wal: unusable after an earlier failure (\(previous)); restart to re-open the log"
        }
    }
}
