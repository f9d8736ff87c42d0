#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the POSIX calls the WAL needs: every failure becomes a `WALError.io`
/// naming the operation and the path, and interrupted calls are retried.
enum FileIO {
    static func error(_ operation: String, _ path: String) -> WALError {
        .io(operation: operation, path: path, errno: errno)
    }

    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw error("open", path) }
        }
    }

    static func closeFile(_ fd: Int32) {
        _ = close(fd)
    }

    /// Writes all of `bytes` at `offset`.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write", path)
            }
            done += n
        }
    }

    /// Reads `buffer.count` bytes from `offset`, or fewer at the end of the file; returns how many.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("read", path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Overwrites `range` of the file with zeros.
    static func writeZeros(_ fd: Int32, _ range: Range<Int>, path: String) throws {
        guard !range.isEmpty else { return }
        let chunk = min(range.count, 1 << 20)
        let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 8)
        defer { zeros.deallocate() }
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        var position = range.lowerBound
        while position < range.upperBound {
            let n = min(chunk, range.upperBound - position)
            try write(fd, UnsafeRawBufferPointer(rebasing: zeros[0..<n]), at: position, path: path)
            position += n
        }
    }

    /// Makes written data durable (and the file size, when it changed), not other metadata.
    static func syncData(_ fd: Int32, path: String) throws {
        while fdatasync(fd) != 0 {
            if errno != EINTR { throw error("fdatasync", path) }
        }
    }

    /// Makes the directory's entries (creations, renames, removals) durable.
    static func syncDirectory(_ path: String) throws {
        let fd = try openFile(path, O_RDONLY | O_DIRECTORY)
        defer { closeFile(fd) }
        while fsync(fd) != 0 {
            if errno != EINTR { throw error("fsync directory", path) }
        }
    }

    /// Allocates disk blocks for the first `size` bytes (and grows the file to `size`).
    static func preallocate(_ fd: Int32, size: Int, path: String) throws {
        while true {
            let code = posix_fallocate(fd, 0, off_t(size))
            if code == 0 { return }
            if code != EINTR { throw WALError.io(operation: "preallocate", path: path, errno: code) }
        }
    }

    static func size(_ fd: Int32, path: String) throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw error("stat", path) }
        return Int(info.st_size)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Creates `path` and any missing parents.
    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = parentDirectory(of: path)
        if parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw error("mkdir", path) }
    }

    /// Names in `path`, without "." and "..".
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw error("list directory", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw error("remove", path) }
    }

    /// Removes a directory holding only files (a WAL directory is flat).
    static func removeFlatDirectory(_ path: String) throws {
        for name in try list(path) { try remove(path + "/" + name) }
        if rmdir(path) != 0 && errno != ENOENT { throw error("remove directory", path) }
    }

    static func renameFile(_ from: String, to: String) throws {
        if rename(from, to) != 0 { throw error("rename to \(to)", from) }
    }

    /// "/a/b" for "/a/b/c", "." for "c", "/" for "/c".
    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// `path` without trailing slashes.
    static func normalize(_ path: String) -> String {
        var result = path
        while result.count > 1, result.hasSuffix("/") { result.removeLast() }
        return result
    }
}
