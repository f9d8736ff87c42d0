import Foundation

/// A key or a value: etcd stores arbitrary bytes, which are often UTF-8 text.
///
/// `EtcdBytes` is written as a string literal where text is meant, and converts from and to
/// `Data`, `[UInt8]` and `String`:
///
/// ```swift
/// try await client.kv.put("config/feature-x", "on")
/// let raw = EtcdBytes([0x00, 0xff])
/// let text = response.kvs.first?.value.string   // "on"
/// ```
public struct EtcdBytes: Sendable, Hashable, Comparable, ExpressibleByStringLiteral,
    CustomStringConvertible, CustomDebugStringConvertible
{
    /// The bytes.
    public var data: Data

    /// The bytes of `data`.
    public init(_ data: Data) { self.data = data }

    /// The given bytes.
    public init(_ bytes: [UInt8]) { self.data = Data(bytes) }

    /// The UTF-8 encoding of `string`.
    public init(_ string: String) { self.data = Data(string.utf8) }

    public init(stringLiteral value: String) { self.init(value) }

    /// No bytes (the empty key or value).
    public static let empty = EtcdBytes(Data())

    /// The bytes as an array.
    public var bytes: [UInt8] { [UInt8](data) }

    /// The bytes decoded as UTF-8; invalid sequences become U+FFFD.
    public var string: String { String(decoding: data, as: UTF8.self) }

    public var isEmpty: Bool { data.isEmpty }
    public var count: Int { data.count }

    public var description: String { string }
    public var debugDescription: String { String(reflecting: string) }

    /// Byte-wise (unsigned, lexicographic) order, the order etcd sorts keys in.
    public static func < (lhs: EtcdBytes, rhs: EtcdBytes) -> Bool {
        lhs.data.lexicographicallyPrecedes(rhs.data)
    }

    /// The smallest key greater than every key that starts with `self` — the `range_end` of a
    /// prefix range. The prefix with its trailing 0xff bytes removed and the last byte
    /// incremented; a prefix of only 0xff bytes (or none) gives `"\0"`, which etcd reads as
    /// "to the end of the key space".
    public var prefixRangeEnd: EtcdBytes {
        var bytes = self.bytes
        while let last = bytes.last {
            if last < 0xff {
                bytes[bytes.count - 1] = last + 1
                return EtcdBytes(bytes)
            }
            bytes.removeLast()
        }
        return EtcdBytes([0])
    }

    public static func + (lhs: EtcdBytes, rhs: EtcdBytes) -> EtcdBytes {
        EtcdBytes(lhs.data + rhs.data)
    }
}
