/// etcd's errors, one table for the server that sends them and the client that recognizes them
/// (etcd's `rpctypes`): each case's raw value is etcd's exact message, which clients (etcdctl,
/// clientv3, ...) match on, and ``code`` the gRPC status code it travels with.
public enum EtcdErrorKind: String, Sendable, Hashable, CaseIterable {
    // KV
    case emptyKey = "etcdserver: key is not provided"
    case keyNotFound = "etcdserver: key not found"
    case valueProvided = "etcdserver: value is provided"
    case leaseProvided = "etcdserver: lease is provided"
    case tooManyOps = "etcdserver: too many operations in txn request"
    case duplicateKey = "etcdserver: duplicate key given in txn request"
    /// A range's sort target or order out of range (not recognized by this package's client).
    case invalidSortOption = "etcdserver: invalid sort option"
    case compacted = "etcdserver: mvcc: required revision has been compacted"
    case futureRevision = "etcdserver: mvcc: required revision is a future revision"
    case noSpace = "etcdserver: mvcc: database space exceeded"
    // Lease
    case leaseNotFound = "etcdserver: requested lease not found"
    case leaseExist = "etcdserver: lease already exists"
    case leaseTTLTooLarge = "etcdserver: too large lease TTL"
    // Watch
    case watchCanceled = "etcdserver: watch canceled"
    // Cluster
    case memberExist = "etcdserver: member ID already exist"
    case peerURLExist = "etcdserver: Peer URLs already exists"
    case memberNotEnoughStarted = "etcdserver: re-configuration failed due to not enough started members"
    case memberBadURLs = "etcdserver: given member URLs are invalid"
    case memberNotFound = "etcdserver: member not found"
    case memberNotLearner = "etcdserver: can only promote a learner member"
    case learnerNotReady = "etcdserver: can only promote a learner member which is in sync with leader"
    case tooManyLearners = "etcdserver: too many learner members in cluster"
    // Requests
    case requestTooLarge = "etcdserver: request is too large"
    case tooManyRequests = "etcdserver: too many requests"
    // Auth
    case rootUserNotExist = "etcdserver: root user does not exist"
    case rootRoleNotExist = "etcdserver: root user does not have root role"
    case userAlreadyExist = "etcdserver: user name already exists"
    case userEmpty = "etcdserver: user name is empty"
    case userNotFound = "etcdserver: user name not found"
    case roleAlreadyExist = "etcdserver: role name already exists"
    case roleNotFound = "etcdserver: role name not found"
    case roleEmpty = "etcdserver: role name is empty"
    case authFailed = "etcdserver: authentication failed, invalid user ID or password"
    case permissionDenied = "etcdserver: permission denied"
    case roleNotGranted = "etcdserver: role is not granted to the user"
    case permissionNotGranted = "etcdserver: permission is not granted to the role"
    case authNotEnabled = "etcdserver: authentication is not enabled"
    case invalidAuthToken = "etcdserver: invalid auth token"
    case invalidAuthMgmt = "etcdserver: invalid auth management"
    case authOldRevision = "etcdserver: revision of auth store is old"
    // Leadership and availability
    case noLeader = "etcdserver: no leader"
    case notLeader = "etcdserver: not leader"
    case leaderChanged = "etcdserver: leader changed"
    case notCapable = "etcdserver: not capable"
    case stopped = "etcdserver: server stopped"
    case timeout = "etcdserver: request timed out"
    case timeoutDueToLeaderFail = "etcdserver: request timed out, possibly due to previous leader failure"
    case timeoutDueToConnectionLost = "etcdserver: request timed out, possibly due to connection lost"
    case timeoutWaitAppliedIndex = "etcdserver: request timed out, waiting for the applied index took too long"
    case unhealthy = "etcdserver: unhealthy cluster"
    case corrupt = "etcdserver: corrupt cluster"
    case notSupportedForLearner = "etcdserver: rpc not supported for learner"
    case badLeaderTransferee = "etcdserver: bad leader transferee"

    // Client side (and the lock and election services, which speak as etcd's client does)
    /// The request's deadline passed (the request timeout, or no endpoint answered in time).
    case deadlineExceeded = "context deadline exceeded"
    /// The caller's task was cancelled.
    case canceled = "context canceled"
    /// No endpoint could be reached (transport failure).
    case unavailable = "unavailable"
    /// The client was closed.
    case clientClosed = "grpc: the client connection is closing"
    /// A lease ran out (or was revoked) while kept alive.
    case leaseExpired = "lease expired or revoked"
    /// A session's lease is gone.
    case sessionExpired = "session expired"
    /// `Election.proclaim`/`resign` without leadership.
    case electionNotLeader = "election: not leader"
    /// `Election.leader` when nobody leads.
    case electionNoLeader = "election: no leader"
    /// A Mutex's `tryLock` found the lock held.
    case locked = "mutex: Locked by another session"
    /// Anything else: the error's own code and message say what it is.
    case other = ""

    /// etcd's exact message.
    public var message: String { rawValue }

    /// The gRPC code etcd sends with this error.
    public var code: StatusCode {
        switch self {
        case .emptyKey, .keyNotFound, .valueProvided, .leaseProvided, .tooManyOps, .duplicateKey,
            .invalidSortOption, .memberBadURLs, .requestTooLarge, .userEmpty, .roleEmpty, .authFailed,
            .invalidAuthMgmt, .authOldRevision:
            return .invalidArgument
        case .compacted, .futureRevision, .leaseTTLTooLarge:
            return .outOfRange
        case .noSpace, .tooManyRequests:
            return .resourceExhausted
        case .leaseNotFound, .memberNotFound:
            return .notFound
        case .leaseExist, .memberExist, .peerURLExist, .memberNotEnoughStarted, .memberNotLearner,
            .learnerNotReady, .tooManyLearners, .rootUserNotExist, .rootRoleNotExist, .userAlreadyExist,
            .userNotFound, .roleAlreadyExist, .roleNotFound, .roleNotGranted, .permissionNotGranted,
            .authNotEnabled, .notLeader, .badLeaderTransferee:
            return .failedPrecondition
        case .watchCanceled, .canceled:
            return .canceled
        case .permissionDenied:
            return .permissionDenied
        case .invalidAuthToken:
            return .unauthenticated
        case .noLeader, .leaderChanged, .notCapable, .stopped, .timeout, .timeoutDueToLeaderFail,
            .timeoutDueToConnectionLost, .timeoutWaitAppliedIndex, .unhealthy, .notSupportedForLearner,
            .unavailable, .clientClosed:
            return .unavailable
        case .corrupt:
            return .dataLoss
        case .deadlineExceeded:
            return .deadlineExceeded
        case .leaseExpired, .sessionExpired, .electionNotLeader, .electionNoLeader, .locked, .other:
            return .unknown
        }
    }
}
