import EtcdErrors
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
    public typealias StatusCode = EtcdErrors.StatusCode

    /// The errors etcd's server defines (by their message), and the client's own.
    public typealias Kind = EtcdErrorKind

    // MARK: - Construction

    /// The error for a known kind, with etcd's code and message.
    public init(_ kind: Kind) {
        self.init(kind: kind, code: kind.code, message: kind.rawValue)
    }

    static let kindsByMessage: [String: Kind] = {
        var map: [String: Kind] = [:]
        // `invalidSortOption` stays `.other`, as this client has always seen it.
        for kind in Kind.allCases where kind.rawValue.hasPrefix("etcdserver: ") && kind != .invalidSortOption {
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
