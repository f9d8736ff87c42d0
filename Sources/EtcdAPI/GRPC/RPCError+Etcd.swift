import EtcdServer
import GRPCCore

extension RPCError {
    /// The gRPC status a client sees for an etcd error: same code, same message.
    init(_ error: EtcdError) {
        self.init(code: Self.code(for: error.code), message: error.message)
    }

    private static func code(for code: EtcdError.Code) -> RPCError.Code {
        switch code {
        case .cancelled: return .cancelled
        case .unknown: return .unknown
        case .invalidArgument: return .invalidArgument
        case .deadlineExceeded: return .deadlineExceeded
        case .notFound: return .notFound
        case .alreadyExists: return .alreadyExists
        case .permissionDenied: return .permissionDenied
        case .resourceExhausted: return .resourceExhausted
        case .failedPrecondition: return .failedPrecondition
        case .aborted: return .aborted
        case .outOfRange: return .outOfRange
        case .unimplemented: return .unimplemented
        case .internal: return .internalError
        case .unavailable: return .unavailable
        case .dataLoss: return .dataLoss
        case .unauthenticated: return .unauthenticated
        }
    }
}

/// Runs a server operation, turning its etcd error into the matching gRPC status.
@inline(__always)
func rpc<T>(_ body: () async throws(EtcdError) -> T) async throws(RPCError) -> T {
    do {
        return try await body()
    } catch {
        throw RPCError(error)
    }
}
