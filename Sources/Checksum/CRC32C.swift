/// CRC-32C (the Castagnoli polynomial, as used by iSCSI, ext4 and etcd's WAL), computed
/// with eight lookup tables so that the hot loop consumes eight bytes per step.
///
/// `CRC32C.checksum("123456789".utf8)` is `0xE3069283`.
public enum CRC32C {
    /// The polynomial 0x1EDC6F41 with its bits reversed (the CRC is computed LSB first).
    public static let reversedPolynomial: UInt32 = 0x82F6_3B78

    /// Eight tables of 256 entries, stored one after the other. Table 0 is the classic
    /// byte-at-a-time table; table k advances the CRC by a byte followed by k zero bytes.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ reversedPolynomial : crc >> 1
            }
            t[byte] = crc
        }
        for k in 1..<8 {
            for byte in 0..<256 {
                let previous = t[(k - 1) * 256 + byte]
                t[k * 256 + byte] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, with: bytes)
    }

    /// The checksum of a byte sequence (convenience for small inputs and tests).
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        let array = Array(bytes)
        return array.withUnsafeBytes { update(0, with: $0) }
    }

    /// Extends the checksum `crc` of some bytes to cover `bytes` appended to them.
    /// `update(update(0, a), b) == checksum(a + b)`.
    public static func update(_ crc: UInt32, with bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var p = bytes.baseAddress, !bytes.isEmpty else { return crc }
        var remaining = bytes.count
        var c = ~crc
        tables.withUnsafeBufferPointer { t in
            while remaining >= 8 {
                let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ c
                let high = UInt32(truncatingIfNeeded: word &>> 32)
                c = t[7 * 256 + Int(low & 0xFF)]
                    ^ t[6 * 256 + Int((low &>> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low &>> 16) & 0xFF)]
                    ^ t[4 * 256 + Int(low &>> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)]
                    ^ t[2 * 256 + Int((high &>> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high &>> 16) & 0xFF)]
                    ^ t[Int(high &>> 24)]
                p += 8
                remaining -= 8
            }
            while remaining > 0 {
                let byte = UInt32(p.load(as: UInt8.self))
                c = t[Int((c ^ byte) & 0xFF)] ^ (c &>> 8)
                p += 1
                remaining -= 1
            }
        }
        return ~c
    }
}
