/// A named key space of the backend, like one of etcd's bbolt buckets.
/// Keys and values are opaque bytes; keys are ordered bytewise.
public struct Bucket: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) {
        precondition(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "bucket names are identifiers")
        self.name = name
    }

    /// Revision → encoded key-value (the MVCC history).
    public static let key = Bucket("key")
    /// Bookkeeping: consistent index, compaction revisions, versions.
    public static let meta = Bucket("meta")
    public static let lease = Bucket("lease")
    public static let members = Bucket("members")
    public static let membersRemoved = Bucket("members_removed")
    public static let cluster = Bucket("cluster")
    public static let alarm = Bucket("alarm")
    public static let auth = Bucket("auth")
    public static let authUsers = Bucket("authUsers")
    public static let authRoles = Bucket("authRoles")

    /// Every bucket the server uses; all are created when a backend is opened.
    public static let all: [Bucket] = [
        .key, .meta, .lease, .members, .membersRemoved, .cluster, .alarm, .auth, .authUsers, .authRoles,
    ]

    var table: String { "bucket_\(name)" }

    public var description: String { name }
}
