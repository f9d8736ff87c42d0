import Foundation

/// One version of a key, as stored and as returned by ranges.
public struct KeyValue: Hashable, Sendable {
    public var key: Data
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    public var value: Data
    public var lease: Int64

    public init(
        key: Data, createRevision: Int64 = 0, modRevision: Int64 = 0, version: Int64 = 0,
        value: Data = Data(), lease: Int64 = 0
    ) {
        self.key = key
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.value = value
        self.lease = lease
    }
}

/// Encodes key-values exactly as etcd's `mvccpb.KeyValue` protobuf message (fields 1–6 in
/// order, zero values omitted), so backend hashes agree with etcd's and a stored value is a
/// valid wire message.
public enum KeyValueCodec {
    public static func encode(_ kv: KeyValue) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(kv.key.count + kv.value.count + 40)
        appendBytesField(1, kv.key, to: &out)
        appendVarintField(2, kv.createRevision, to: &out)
        appendVarintField(3, kv.modRevision, to: &out)
        appendVarintField(4, kv.version, to: &out)
        appendBytesField(5, kv.value, to: &out)
        appendVarintField(6, kv.lease, to: &out)
        return out
    }

    /// Decodes a stored key-value. Without `value` the value bytes are checked but not
    /// copied (replaying the key index at start-up needs everything else).
    public static func decode(_ bytes: UnsafeRawBufferPointer, value wantsValue: Bool = true) throws -> KeyValue {
        var kv = KeyValue(key: Data())
        var offset = 0
        while offset < bytes.count {
            let tag = try readVarint(bytes, &offset)
            let field = tag >> 3
            switch (field, tag & 7) {
            case (1, 2): kv.key = try readBytes(bytes, &offset)
            case (5, 2) where wantsValue: kv.value = try readBytes(bytes, &offset)
            case (5, 2): try skipBytes(bytes, &offset)
            case (2, 0): kv.createRevision = Int64(bitPattern: try readVarint(bytes, &offset))
            case (3, 0): kv.modRevision = Int64(bitPattern: try readVarint(bytes, &offset))
            case (4, 0): kv.version = Int64(bitPattern: try readVarint(bytes, &offset))
            case (6, 0): kv.lease = Int64(bitPattern: try readVarint(bytes, &offset))
            default: throw MVCCError.corrupt("unexpected field \(field) wire type \(tag & 7) in stored key-value")
            }
        }
        return kv
    }

    private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    private static func appendVarintField(_ field: UInt64, _ value: Int64, to out: inout [UInt8]) {
        guard value != 0 else { return }
        appendVarint(field << 3, to: &out)
        appendVarint(UInt64(bitPattern: value), to: &out)
    }

    private static func appendBytesField(_ field: UInt64, _ value: Data, to out: inout [UInt8]) {
        guard !value.isEmpty else { return }
        appendVarint(field << 3 | 2, to: &out)
        appendVarint(UInt64(value.count), to: &out)
        out.append(contentsOf: value)
    }

    private static func readVarint(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        throw MVCCError.corrupt("truncated varint in stored key-value")
    }

    private static func skipBytes(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws {
        let length = Int(try readVarint(bytes, &offset))
        guard length >= 0, offset + length <= bytes.count else {
            throw MVCCError.corrupt("truncated bytes field in stored key-value")
        }
        offset += length
    }

    private static func readBytes(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws -> Data {
        let length = Int(try readVarint(bytes, &offset))
        guard length >= 0, offset + length <= bytes.count else {
            throw MVCCError.corrupt("truncated bytes field in stored key-value")
        }
        defer { offset += length }
        return Data(bytes: bytes.baseAddress! + offset, count: length)
    }
}
