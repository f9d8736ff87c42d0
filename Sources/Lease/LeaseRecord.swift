/// How a lease is stored in the backend's lease bucket: key = ID, value = ID and TTL,
/// each 8 bytes big-endian.
struct LeaseRecord {
    let id: Int64
    let ttl: Int64

    init(id: Int64, ttl: Int64) {
        self.id = id
        self.ttl = ttl
    }

    init?(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard value.count == 16 else { return nil }
        id = Self.read(value, at: 0)
        ttl = Self.read(value, at: 8)
    }

    static func key(of id: Int64) -> [UInt8] { bytes(id) }
    var key: [UInt8] { Self.bytes(id) }
    var value: [UInt8] { Self.bytes(id) + Self.bytes(ttl) }

    private static func bytes(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> (56 - 8 * UInt64($0))) }
    }

    private static func read(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> Int64 {
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(buffer[offset + i]) }
        return Int64(bitPattern: value)
    }
}
