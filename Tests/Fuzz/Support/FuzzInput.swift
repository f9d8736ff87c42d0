import Foundation

/// Reads a fuzz input front to back; reading past the end gives zeros and empty chunks, so
/// every input means something.
package struct FuzzInput {
    private let bytes: [UInt8]
    private var position = 0

    package init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    package var isAtEnd: Bool { position >= bytes.count }

    package mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A chunk with a 2-byte little-endian length in front.
    package mutating func chunk() -> [UInt8] {
        let length = Int(byte()) | Int(byte()) << 8
        let end = min(bytes.count, position + length)
        defer { position = end }
        return Array(bytes[position..<end])
    }

    /// Everything not read yet.
    package mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return Array(bytes[min(position, bytes.count)...])
    }

    /// The chunk encoding `chunk()` reads, for writing seeds.
    package static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count <= 0xFFFF, "a chunk holds at most 65535 bytes")
        return [UInt8(bytes.count & 0xFF), UInt8(bytes.count >> 8)] + bytes
    }
}

/// A fresh directory for one input's files (in memory under /dev/shm when there is one),
/// removed when the value goes away.
package final class ScratchDirectory {
    package let path: String

    package init() {
        let root = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        var template = Array((root + "swetcd-fuzz-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else { fatalError("mkdtemp failed") }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
