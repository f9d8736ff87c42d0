/// An error a client sees: a gRPC status code and etcd's exact message, which clients
/// (etcdctl, clientv3, ...) match on. The API layer turns it into a gRPC status.
public struct EtcdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// gRPC status codes (the subset etcd uses), with gRPC's numbering.
    public enum Code: Int, Sendable {
        case cancelled = 1
        case unknown = 2
        case invalidArgument = 3
        case deadlineExceeded = 4
        case notFound = 5
        case alreadyExists = 6
        case permissionDenied = 7
        case resourceExhausted = 8
        case failedPrecondition = 9
        case aborted = 10
        case outOfRange = 11
        case unimplemented = 12
        case `internal` = 13
        case unavailable = 14
        case dataLoss = 15
        case unauthenticated = 16
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    // KV request validation.
    public static let emptyKey = EtcdError(.invalidArgument, "etcdserver: key is not provided")
    public static let keyNotFound = EtcdError(.invalidArgument, "etcdserver: key not found")
    public static let valueProvided = EtcdError(.invalidArgument, "etcdserver: value is provided")
    public static let leaseProvided = EtcdError(.invalidArgument, "etcdserver: lease is provided")
    public static let tooManyOps = EtcdError(.invalidArgument, "etcdserver: too many operations in txn request")
    public static let duplicateKey = EtcdError(.invalidArgument, "etcdserver: duplicate key given in txn request")
    public static let requestTooLarge = EtcdError(.invalidArgument, "etcdserver: request is too large")

    // MVCC.
    public static let compacted = EtcdError(.outOfRange, "etcdserver: mvcc: required revision has been compacted")
    public static let futureRevision = EtcdError(.outOfRange, "etcdserver: mvcc: required revision is a future revision")
    public static let noSpace = EtcdError(.resourceExhausted, "etcdserver: mvcc: database space exceeded")

    // Leases.
    public static let leaseNotFound = EtcdError(.notFound, "etcdserver: requested lease not found")
    public static let leaseExists = EtcdError(.failedPrecondition, "etcdserver: lease already exists")
    public static let leaseTTLTooLarge = EtcdError(.outOfRange, "etcdserver: too large lease TTL")

    // Membership.
    public static let memberNotFound = EtcdError(.notFound, "etcdserver: member not found")

    // Server state.
    public static let noLeader = EtcdError(.unavailable, "etcdserver: no leader")
    public static let notLeader = EtcdError(.failedPrecondition, "etcdserver: not leader")
    public static let stopped = EtcdError(.unavailable, "etcdserver: server stopped")
    public static let timeout = EtcdError(.unavailable, "etcdserver: request timed out")
    public static let notCapable = EtcdError(.unavailable, "etcdserver: not capable")
}
