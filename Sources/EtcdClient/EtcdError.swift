import GRPCCore

/// An error from etcd or from the client.
///
/// Server errors carry etcd's gRPC status code and message (`etcdserver: mvcc: required revision
/// has been compacted`, ...); ``kind`` tells the known ones apart, so code can match on them
/// without comparing strings:
///
/// ```swift
/// do {
///     _ = try await client.kv.get("k", options: .init(revision: 1))
/// } catch let error as EtcdError where error.kind == .compacted {
///     // read a newer revision
/// }
/// ```
public struct EtcdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which error this is, if it is one etcd (or this client) defines.
    public var kind: Kind
    /// The gRPC status code.
    public var code: StatusCode
    /// The message: etcd's own text for server errors (`etcdserver: ...`).
    public var message: String
    /// For ``Kind/compacted`` errors of a watch: the oldest revision still available.
    public var compactRevision: Int64

    public init(kind: Kind, code: StatusCode, message: String, compactRevision: Int64 = 0) {
        self.kind = kind
        self.code = code
        self.message = message
        self.compactRevision = compactRevision
    }

    /// The text etcd's Go client shows: the message for errors etcd defines, else gRPC-go's
    /// `rpc error: code = ... desc = ...` form.
    public var description: String {
        switch kind {
        case .other: return "rpc error: code = \(code) desc = \(message)"
        default: return message
        }
    }

    /// gRPC-go's rendering of the status, whatever the kind (as logged by etcd's client).
    public var grpcDescription: String {
        "rpc error: code = \(code) desc = \(message)"
    }

    /// gRPC status codes, named as gRPC-go names them.
    public enum StatusCode: Int, Sendable, Hashable, CustomStringConvertible {
        case ok = 0, canceled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
            permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange,
            unimplemented, internalError, unavailable, dataLoss, unauthenticated

        public var description: String {
            switch self {
            case .ok: "OK"
            case .canceled: "Canceled"
            case .unknown: "Unknown"
            case .invalidArgument: "InvalidArgument"
            case .deadlineExceeded: "DeadlineExceeded"
            case .notFound: "NotFound"
            case .alreadyExists: "AlreadyExists"
            case .permissionDenied: "PermissionDenied"
            case .resourceExhausted: "ResourceExhausted"
            case .failedPrecondition: "FailedPrecondition"
            case .aborted: "Aborted"
            case .outOfRange: "OutOfRange"
            case .unimplemented: "Unimplemented"
            case .internalError: "Internal"
            case .unavailable: "Unavailable"
            case .dataLoss: "DataLoss"
            case .unauthenticated: "Unauthenticated"
            }
        }
    }

    /// The errors etcd's server defines (by their message), and the client's own.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        // KV
        case emptyKey = "etcdserver: key is not provided"
        case keyNotFound = "etcdserver: key not found"
        case valueProvided = "etcdserver: value is provided"
        case leaseProvided = "etcdserver: lease is provided"
        case tooManyOps = "etcdserver: too many operations in txn request"
        case duplicateKey = "etcdserver: duplicate key given in txn request"
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

        // Client side
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
        /// Anything else: see ``EtcdError/code`` and ``EtcdError/message``.
        case other = ""
    }

    // MARK: - Construction

    /// The error for a known kind, with etcd's code and message.
    public init(_ kind: Kind) {
        self.init(kind: kind, code: kind.defaultCode, message: kind.rawValue)
    }

    static let kindsByMessage: [String: Kind] = {
        var map: [String: Kind] = [:]
        for kind in Kind.allCases where kind.rawValue.hasPrefix("etcdserver: ") {
            map[kind.rawValue] = kind
        }
        return map
    }()

    /// The error for a gRPC status as received from a server.
    public init(code: StatusCode, message: String) {
        if let kind = Self.kindsByMessage[message] {
            self.init(kind: kind, code: code, message: message)
        } else {
            self.init(kind: .other, code: code, message: message)
        }
    }

    /// Maps any error thrown by a gRPC call (or by the client) to an `EtcdError`.
    static func from(_ error: any Error) -> EtcdError {
        if let error = error as? EtcdError { return error }
        if error is CancellationError { return EtcdError(.canceled) }
        if let rpc = error as? RPCError {
            let code = StatusCode(rawValue: rpc.code.rawValue) ?? .unknown
            switch code {
            case .deadlineExceeded:
                return EtcdError(kind: .deadlineExceeded, code: .deadlineExceeded, message: Kind.deadlineExceeded.rawValue)
            case .canceled where rpc.message != Kind.watchCanceled.rawValue:
                return EtcdError(kind: .canceled, code: .canceled, message: Kind.canceled.rawValue)
            default:
                return EtcdError(code: code, message: rpc.message)
            }
        }
        return EtcdError(kind: .other, code: .unknown, message: String(describing: error))
    }
}

extension EtcdError.Kind {
    /// The gRPC code etcd sends with this error.
    var defaultCode: EtcdError.StatusCode {
        switch self {
        case .emptyKey, .keyNotFound, .valueProvided, .leaseProvided, .tooManyOps, .duplicateKey,
            .memberBadURLs, .requestTooLarge, .userEmpty, .roleEmpty, .authFailed, .invalidAuthMgmt,
            .authOldRevision:
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
