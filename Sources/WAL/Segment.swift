#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The identity of a segment file, `%016x-%016x.wal`: its position in the sequence of
/// segments and a lower bound for the entries it may add to the log.
///
/// `firstIndex` is one more than the largest entry index (or snapshot marker index) written
/// before the segment was started. So every entry of an earlier segment that is still part of
/// the log has an index below it, and reading from the last segment with
/// `firstIndex <= snapshot.index` finds every entry after that snapshot.
struct SegmentName: Hashable, Comparable, CustomStringConvertible {
    var sequence: UInt64
    var firstIndex: UInt64

    static let fileExtension = ".wal"
    /// Suffix of a segment being prepared; such files are not part of the log.
    static let temporarySuffix = ".tmp"

    var fileName: String {
        Self.hex16(sequence) + "-" + Self.hex16(firstIndex) + Self.fileExtension
    }

    var description: String { fileName }

    init(sequence: UInt64, firstIndex: UInt64) {
        self.sequence = sequence
        self.firstIndex = firstIndex
    }

    /// Parses a segment file name; nil for anything else.
    init?(fileName: String) {
        let utf8 = Array(fileName.utf8)
        guard utf8.count == 37, utf8[16] == UInt8(ascii: "-"), fileName.hasSuffix(Self.fileExtension),
              let sequence = Self.parseHex(utf8[0..<16]), let firstIndex = Self.parseHex(utf8[17..<33])
        else { return nil }
        self.init(sequence: sequence, firstIndex: firstIndex)
    }

    static func < (a: SegmentName, b: SegmentName) -> Bool {
        (a.sequence, a.firstIndex) < (b.sequence, b.firstIndex)
    }

    /// The segments in `directory`, in sequence order.
    static func list(in directory: String) throws -> [SegmentName] {
        try FileIO.list(directory).compactMap(SegmentName.init(fileName:)).sorted()
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func parseHex(_ digits: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for digit in digits {
            let nibble: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(nibble)
        }
        return value
    }
}

enum SegmentFile {
    /// Creates segment `name` in `directory` holding `header` (already framed records),
    /// preallocated to `size` bytes, and returns a read-write descriptor for it.
    ///
    /// The file is prepared under a temporary name, made durable, and only then renamed into
    /// place (and the directory synced), so a crash never leaves a half-made segment in the log.
    static func create(
        _ name: SegmentName, in directory: String, size: Int, header: UnsafeRawBufferPointer
    ) throws -> Int32 {
        let path = directory + "/" + name.fileName
        let temporary = path + SegmentName.temporarySuffix
        let fd = try FileIO.openFile(temporary, O_RDWR | O_CREAT | O_TRUNC)
        do {
            try FileIO.preallocate(fd, size: max(size, header.count), path: temporary)
            try FileIO.write(fd, header, at: 0, path: temporary)
            try FileIO.syncData(fd, path: temporary)
            try FileIO.renameFile(temporary, to: path)
            try FileIO.syncDirectory(directory)
        } catch {
            FileIO.closeFile(fd)
            try? FileIO.remove(temporary)
            throw error
        }
        return fd
    }

    /// Removes leftovers of segments whose creation was interrupted.
    static func removeTemporaryFiles(in directory: String) throws {
        var removed = false
        for name in try FileIO.list(directory) where name.hasSuffix(SegmentName.fileExtension + SegmentName.temporarySuffix) {
            try FileIO.remove(directory + "/" + name)
            removed = true
        }
        if removed { try FileIO.syncDirectory(directory) }
    }
}

/// An exclusive `flock` on a file in the WAL directory, held for as long as the WAL is open.
/// `flock` locks belong to the open file description, so a second open in the same process
/// is refused just like one from another process; the kernel drops the lock if the process dies.
final class DirectoryLock {
    static let fileName = "wal.lock"

    private var fd: Int32

    /// Locks `directory`, or throws `WALError.locked` if someone else holds it.
    init(directory: String) throws {
        let path = directory + "/" + Self.fileName
        fd = try FileIO.openFile(path, O_RDWR | O_CREAT)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            FileIO.closeFile(fd)
            if code == EWOULDBLOCK { throw WALError.locked(directory: directory) }
            throw WALError.io(operation: "lock", path: path, errno: code)
        }
    }

    func release() {
        guard fd >= 0 else { return }
        FileIO.closeFile(fd)
        fd = -1
    }

    deinit { release() }
}
