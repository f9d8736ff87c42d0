import EtcdServer
import GRPCCore
import LeanGRPC
import NIOHTTP1

/// An error as etcd's JSON gateway reports it: the gRPC status in a JSON body, with the
/// HTTP status grpc-gateway derives from the gRPC code.
struct GatewayError: Error {
    let code: RPCError.Code
    let message: String

    init(code: RPCError.Code, message: String) {
        self.code = code
        self.message = message
    }

    init(_ error: any Error) {
        switch error {
        case let gateway as GatewayError:
            self = gateway
        case let etcd as EtcdError:
            self.init(code: RPCError(etcd).code, message: etcd.message)
        case let rpc as RPCError:
            self.init(code: rpc.code, message: rpc.message)
        default:
            self.init(code: .unknown, message: "\(error)")
        }
    }

    /// A request body that is not the JSON of the request message.
    static func badRequest(_ detail: String) -> GatewayError {
        GatewayError(code: .invalidArgument, message: detail)
    }

    /// A request larger than etcd's gRPC server receives, in grpc-go's words.
    static func messageTooLarge(_ size: Int, limit: Int) -> GatewayError {
        GatewayError(code: .resourceExhausted, message: GRPCStatus.messageTooLarge(size, limit: limit).message)
    }

    var response: HTTPResponse {
        let escaped = GatewayJSON.quote(message)
        return .json(#"{"error":\#(escaped),"message":\#(escaped),"code":\#(code.rawValue)}"#, status: httpStatus)
    }

    /// grpc-gateway (v1)'s mapping from gRPC codes to HTTP statuses.
    var httpStatus: HTTPResponseStatus {
        switch code {
        case .cancelled: return .requestTimeout
        case .invalidArgument, .outOfRange: return .badRequest
        case .deadlineExceeded: return .gatewayTimeout
        case .notFound: return .notFound
        case .alreadyExists, .aborted: return .conflict
        case .permissionDenied: return .forbidden
        case .unauthenticated: return .unauthorized
        case .resourceExhausted: return .tooManyRequests
        case .failedPrecondition: return .preconditionFailed
        case .unimplemented: return .notImplemented
        case .unavailable: return .serviceUnavailable
        default: return .internalServerError
        }
    }
}
