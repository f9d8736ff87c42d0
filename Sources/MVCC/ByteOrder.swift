#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytewise lexicographic comparison of keys, the order etcd keeps keys in.
@inline(__always)
func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    b.withUnsafeBufferPointer { compareBytes(a, $0) }
}

/// `compareBytes` against a key already pinned in memory (a search compares one key many times).
@inline(__always)
func compareBytes(_ a: [UInt8], _ pb: UnsafeBufferPointer<UInt8>) -> Int {
    a.withUnsafeBufferPointer { pa in
        let common = min(pa.count, pb.count)
        if common > 0 {
            let c = memcmp(pa.baseAddress!, pb.baseAddress!, common)
            if c != 0 { return Int(c) }
        }
        return pa.count - pb.count
    }
}

/// A key's first eight bytes as one big-endian integer, zero-padded. Where two keys'
/// prefixes differ they order the keys exactly as `compareBytes` does, so a search compares
/// integers and reads the keys' bytes only when the prefixes are equal.
struct KeyPrefix: Comparable {
    let value: UInt64

    @inline(__always)
    init(_ key: UnsafeBufferPointer<UInt8>) {
        var value: UInt64 = 0
        for i in 0..<min(8, key.count) { value |= UInt64(key[i]) << (56 - 8 * i) }
        self.value = value
    }

    static func < (a: KeyPrefix, b: KeyPrefix) -> Bool { a.value < b.value }
}
