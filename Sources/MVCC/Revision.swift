/// A point in the store's history: `main` is bumped once per write transaction, `sub`
/// numbers the changes inside it.
public struct Revision: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var main: Int64
    public var sub: Int64

    public init(main: Int64, sub: Int64 = 0) {
        self.main = main
        self.sub = sub
    }

    public static func < (lhs: Revision, rhs: Revision) -> Bool {
        lhs.main != rhs.main ? lhs.main < rhs.main : lhs.sub < rhs.sub
    }

    public var description: String { "\(main)_\(sub)" }
}

/// The backend key of a revision, in etcd's layout so that keys sort by revision and hash
/// the same way: 8 bytes big-endian main, `_`, 8 bytes big-endian sub, and a trailing `t`
/// when the revision is a deletion (tombstone).
public struct RevisionKey: Hashable, Sendable {
    public static let length = 17
    public static let tombstoneMark: UInt8 = UInt8(ascii: "t")

    public var revision: Revision
    public var isTombstone: Bool

    public init(_ revision: Revision, isTombstone: Bool = false) {
        self.revision = revision
        self.isTombstone = isTombstone
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.length + 1)
        Self.appendBigEndian(UInt64(bitPattern: revision.main), to: &out)
        out.append(UInt8(ascii: "_"))
        Self.appendBigEndian(UInt64(bitPattern: revision.sub), to: &out)
        if isTombstone { out.append(Self.tombstoneMark) }
        return out
    }

    /// Decodes a backend key; nil when it is not a revision key.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Self.length || (bytes.count == Self.length + 1 && bytes[Self.length] == Self.tombstoneMark)
        else { return nil }
        let main = Self.readBigEndian(bytes, at: 0)
        let sub = Self.readBigEndian(bytes, at: 9)
        self.init(Revision(main: Int64(bitPattern: main), sub: Int64(bitPattern: sub)), isTombstone: bytes.count == Self.length + 1)
    }

    /// The smallest backend key of revisions with this main revision (for range bounds).
    public static func lowerBound(main: Int64) -> [UInt8] {
        RevisionKey(Revision(main: main, sub: 0)).bytes
    }

    private static func appendBigEndian(_ value: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    private static func readBigEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
        return value
    }
}
