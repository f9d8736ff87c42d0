import Glibc

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
