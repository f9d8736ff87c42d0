extension UInt64 {
    /// The value as 8 bytes, most significant first (how the backend, snapshot files and
    /// ReadIndex contexts store it).
    var bigEndianBytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: self >> (56 - 8 * UInt64($0))) }
    }
}
