import GRPCCore

/// An error a client sees: a gRPC status code and etcd's exact message, which clients
/// (etcdctl, clientv3, ...) match on. It becomes that gRPC status wherever it is thrown from
/// an RPC (client API or member-to-member calls).
public struct EtcdError: Error, Equatable, Sendable, CustomStringConvertible, RPCErrorConvertible {
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

    public var rpcErrorCode: RPCError.Code { RPCError.Code(code) }
    public var rpcErrorMessage: String { message }

    /// The etcd error a gRPC status stands for (a call forwarded to another member failed).
    public init(_ error: RPCError) {
        self.init(Code(rawValue: error.code.rawValue) ?? .unknown, error.message)
    }

    // KV request validation.
    public static let emptyKey = EtcdError(.invalidArgument, "etcdserver: key is not provided")
    public static let keyNotFound = EtcdError(.invalidArgument, "etcdserver: key not found")
    public static let valueProvided = EtcdError(.invalidArgument, "etcdserver: value is provided")
    public static let leaseProvided = EtcdError(.invalidArgument, "etcdserver: lease is provided")
    public static let invalidSortOption = EtcdError(.invalidArgument, "etcdserver: invalid sort option")
    public static let tooManyOps = EtcdError(.invalidArgument, "etcdserver: too many operations in txn request")
    public static let duplicateKey = EtcdError(.invalidArgument, "etcdserver: duplicate key given in txn request")
    /// A committed entry whose payload does not decode (every member skips it alike).
    static func undecodableEntry(_ reason: String) -> EtcdError {
        EtcdError(.internal, "etcdserver: the log entry of this request could not be applied: \(reason)")
    }
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
    /// Raft refused the proposal (no leader known, leadership being transferred).
    public static let proposalDropped = EtcdError(.unknown, "raft proposal dropped")
    public static let leaderChanged = EtcdError(.unavailable, "etcdserver: leader changed")

    // Cluster membership.
    public static let memberExists = EtcdError(.failedPrecondition, "etcdserver: member ID already exist")
    public static let peerURLExists = EtcdError(.failedPrecondition, "etcdserver: Peer URLs already exists")
    public static let memberNotEnoughStarted = EtcdError(
        .failedPrecondition, "etcdserver: re-configuration failed due to not enough started members")
    public static let memberBadURLs = EtcdError(.invalidArgument, "etcdserver: given member URLs are invalid")
    public static let memberNotLearner = EtcdError(.failedPrecondition, "etcdserver: can only promote a learner member")
    public static let learnerNotReady = EtcdError(
        .failedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader")
    public static let tooManyLearners = EtcdError(.failedPrecondition, "etcdserver: too many learner members in cluster")
    public static let badLeaderTransferee = EtcdError(.failedPrecondition, "etcdserver: bad leader transferee")
    public static let learnerNotSupported = EtcdError(.unavailable, "etcdserver: rpc not supported for learner")
    public static let timeoutDueToLeaderFail = EtcdError(
        .unavailable, "etcdserver: request timed out, possibly due to previous leader failure")
}

extension RPCError.Code {
    init(_ code: EtcdError.Code) {
        switch code {
        case .cancelled: self = .cancelled
        case .unknown: self = .unknown
        case .invalidArgument: self = .invalidArgument
        case .deadlineExceeded: self = .deadlineExceeded
        case .notFound: self = .notFound
        case .alreadyExists: self = .alreadyExists
        case .permissionDenied: self = .permissionDenied
        case .resourceExhausted: self = .resourceExhausted
        case .failedPrecondition: self = .failedPrecondition
        case .aborted: self = .aborted
        case .outOfRange: self = .outOfRange
        case .unimplemented: self = .unimplemented
        case .internal: self = .internalError
        case .unavailable: self = .unavailable
        case .dataLoss: self = .dataLoss
        case .unauthenticated: self = .unauthenticated
        }
    }
}
