import EtcdErrors

/// An error a client sees: a gRPC status code and etcd's exact message, which clients
/// (etcdctl, clientv3, ...) match on. The ports send it as that gRPC status wherever it is
/// thrown from an RPC (client API or member-to-member calls).
public struct EtcdError: Error, Equatable, Sendable, CustomStringConvertible {
    /// gRPC status codes, with gRPC's numbering.
    public typealias Code = StatusCode

    /// The gRPC status code the error is sent with.
    public let code: Code
    /// etcd's exact message.
    public let message: String

    /// An error of this code and message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// One of etcd's errors, with the code and message etcd sends it with.
    public init(kind: EtcdErrorKind) {
        self.init(kind.code, kind.message)
    }

    /// The message.
    public var description: String { message }

    // KV request validation.
    /// A request without a key.
    public static let emptyKey = EtcdError(kind: .emptyKey)
    /// A key that a request needs does not exist.
    public static let keyNotFound = EtcdError(kind: .keyNotFound)
    /// A put that keeps the old value also gave a value.
    public static let valueProvided = EtcdError(kind: .valueProvided)
    /// A put that keeps the old lease also gave a lease.
    public static let leaseProvided = EtcdError(kind: .leaseProvided)
    /// A range with a sort target or order out of range.
    public static let invalidSortOption = EtcdError(kind: .invalidSortOption)
    /// A txn with more operations than `--max-txn-ops`.
    public static let tooManyOps = EtcdError(kind: .tooManyOps)
    /// A txn that writes one key twice.
    public static let duplicateKey = EtcdError(kind: .duplicateKey)
    /// A committed entry whose payload does not decode (every member skips it alike).
    static func undecodableEntry(_ reason: String) -> EtcdError {
        EtcdError(.internalError, "etcdserver: the log entry of this request could not be applied: \(reason)")
    }
    /// A request larger than `--max-request-bytes`.
    public static let requestTooLarge = EtcdError(kind: .requestTooLarge)

    // MVCC.
    /// A revision older than the compacted one.
    public static let compacted = EtcdError(kind: .compacted)
    /// A revision newer than the store's.
    public static let futureRevision = EtcdError(kind: .futureRevision)
    /// The backend is over its quota (the NOSPACE alarm).
    public static let noSpace = EtcdError(kind: .noSpace)

    // Leases.
    /// No lease of that ID.
    public static let leaseNotFound = EtcdError(kind: .leaseNotFound)
    /// A grant of a lease ID already in use.
    public static let leaseExists = EtcdError(kind: .leaseExist)
    /// A grant with a TTL over etcd's maximum.
    public static let leaseTTLTooLarge = EtcdError(kind: .leaseTTLTooLarge)

    // Membership.
    /// No member of that ID.
    public static let memberNotFound = EtcdError(kind: .memberNotFound)

    // Server state.
    /// The member knows no leader.
    public static let noLeader = EtcdError(kind: .noLeader)
    /// A call only the leader answers reached a follower.
    public static let notLeader = EtcdError(kind: .notLeader)
    /// The member is stopping.
    public static let stopped = EtcdError(kind: .stopped)
    /// The caller stopped waiting (its task was cancelled).
    public static let canceled = EtcdError(kind: .canceled)
    /// The request did not complete within the request timeout.
    public static let timeout = EtcdError(kind: .timeout)
    /// The cluster's version does not have the feature yet.
    public static let notCapable = EtcdError(kind: .notCapable)
    /// Raft refused the proposal (no leader known, leadership being transferred).
    public static let proposalDropped = EtcdError(.unknown, "raft proposal dropped")
    /// The leader changed while the request waited.
    public static let leaderChanged = EtcdError(kind: .leaderChanged)

    // Cluster membership.
    /// A member add with an ID already in use.
    public static let memberExists = EtcdError(kind: .memberExist)
    /// A member add or update with a peer URL already in use.
    public static let peerURLExists = EtcdError(kind: .peerURLExist)
    /// The change would leave too few started members for a quorum.
    public static let memberNotEnoughStarted = EtcdError(kind: .memberNotEnoughStarted)
    /// Peer URLs that do not parse.
    public static let memberBadURLs = EtcdError(kind: .memberBadURLs)
    /// A promotion of a voting member.
    public static let memberNotLearner = EtcdError(kind: .memberNotLearner)
    /// A promotion of a learner whose log is behind the leader's.
    public static let learnerNotReady = EtcdError(kind: .learnerNotReady)
    /// A learner added beyond the cluster's one learner.
    public static let tooManyLearners = EtcdError(kind: .tooManyLearners)
    /// A leadership transfer to a member that cannot take it.
    public static let badLeaderTransferee = EtcdError(kind: .badLeaderTransferee)
    /// A call a learner does not serve.
    public static let learnerNotSupported = EtcdError(kind: .notSupportedForLearner)
    /// A request timed out after the leader it went through failed.
    public static let timeoutDueToLeaderFail = EtcdError(kind: .timeoutDueToLeaderFail)
}
