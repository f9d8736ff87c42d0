import Foundation

/// How much of a range to return.
public struct RangeOptions: Sendable {
    /// At most this many key-values (0 = no limit); `count` still covers every match.
    public var limit: Int
    /// The revision to read at; <= 0 means the newest.
    public var revision: Int64
    /// Return only the number of matching keys.
    public var countOnly: Bool

    public init(limit: Int = 0, revision: Int64 = 0, countOnly: Bool = false) {
        self.limit = limit
        self.revision = revision
        self.countOnly = countOnly
    }
}

/// The key-values of a range, the number of keys that matched and the store revision the
/// read was served at.
public struct RangeResult: Sendable {
    public var kvs: [KeyValue]
    public var count: Int
    public var revision: Int64
}

/// A read view of the store at a fixed revision.
public protocol ReadView {
    /// The newest revision this view sees.
    var revision: Int64 { get }
    /// The oldest revision still readable (the compaction revision).
    var firstRevision: Int64 { get }
    func range(_ range: KeyRange, options: RangeOptions) throws -> RangeResult
}
