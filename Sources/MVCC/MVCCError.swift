/// Errors of the multi-version store. The descriptions are etcd's, which clients match on.
public enum MVCCError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The requested revision is older than the last compaction.
    case compacted
    /// The requested revision has not happened yet.
    case futureRevision
    /// A backend key or value could not be decoded: the database is damaged.
    case corrupt(String)

    public var description: String {
        switch self {
        case .compacted: return "mvcc: required revision has been compacted"
        case .futureRevision: return "mvcc: required revision is a future revision"
        case .corrupt(let detail): return "mvcc: corrupt backend: \(detail)"
        }
    }
}
