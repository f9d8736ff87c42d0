import Foundation
import Raft
@testable import WAL

/// A fresh directory under /tmp, removed when the value is deinitialized.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = "wal") {
        let template = NSTemporaryDirectory() + "swetcd-\(label)-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else { fatalError("mkdtemp failed") }
        path = String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A path inside the directory that does not exist yet.
    func child(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func makeEntries(_ indexes: ClosedRange<UInt64>, term: UInt64 = 1, size: Int = 20) -> [Entry] {
    indexes.map { index in
        Entry(term: term, index: index, data: (0..<size).map { UInt8(truncatingIfNeeded: Int(index) &* 31 &+ $0) })
    }
}

func segmentPaths(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter { $0.hasSuffix(".wal") }
        .sorted()
        .map { directory + "/" + $0 }
}

func readFile(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func truncateFile(_ path: String, to size: Int) {
    precondition(truncate(path, off_t(size)) == 0)
}

func flipBit(_ path: String, at offset: Int, bit: Int = 0) throws {
    var bytes = try readFile(path)
    bytes[offset] ^= UInt8(1 << bit)
    try writeFile(path, bytes)
}

/// Zeroes the file from `offset` to its end, keeping its size.
func zeroTail(_ path: String, from offset: Int) throws {
    var bytes = try readFile(path)
    for i in offset..<bytes.count { bytes[i] = 0 }
    try writeFile(path, bytes)
}

func copyDirectory(_ from: String, to: String) throws {
    try? FileManager.default.removeItem(atPath: to)
    try FileManager.default.copyItem(atPath: from, toPath: to)
}

/// A record found in a segment file: where it starts, its length without padding, its type.
struct RecordLocation {
    var offset: Int
    var length: Int
    var type: UInt8
}

/// The valid records of a segment, in order (uses the module's own scanner).
func records(in path: String) throws -> [RecordLocation] {
    let bytes = try readFile(path)
    return bytes.withUnsafeBytes { raw in
        var scanner = RecordScanner(raw)
        var found: [RecordLocation] = []
        while true {
            let offset = scanner.offset
            guard case .record(let type, let payload) = scanner.next() else { break }
            found.append(RecordLocation(offset: offset, length: RecordLayout.headerSize + payload.count, type: type))
        }
        return found
    }
}

func entryRecords(in path: String) throws -> [RecordLocation] {
    try records(in: path).filter { $0.type == RecordType.entry.rawValue }
}
