import EtcdServer
import GRPCCore
import GRPCWire

/// The outcome of a call as the trailers carry it: a gRPC status code and its message.
struct GRPCStatus: Error, Equatable, Sendable {
    let code: Int
    let message: String

    static let ok = GRPCStatus(code: 0, message: "")

    init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    init(_ error: EtcdError) {
        self.init(code: error.code.rawValue, message: error.message)
    }

    /// The status for whatever a handler threw: etcd errors keep their code and text,
    /// cancellation is `Cancelled`, anything else `Unknown` with its description.
    init(_ error: any Error) {
        switch error {
        case let status as GRPCStatus: self = status
        case let etcd as EtcdError: self.init(etcd)
        case let rpc as RPCError: self.init(code: rpc.code.rawValue, message: rpc.message)
        case is CancellationError: self.init(code: EtcdError.Code.cancelled.rawValue, message: "context canceled")
        default: self.init(code: EtcdError.Code.unknown.rawValue, message: "\(error)")
        }
    }

    // grpc-go's own wording for the failures it detects before a handler runs.

    static func unknownService(_ service: Substring) -> GRPCStatus {
        GRPCStatus(code: EtcdError.Code.unimplemented.rawValue, message: "unknown service \(service)")
    }

    static func unknownMethod(_ method: Substring, service: Substring) -> GRPCStatus {
        GRPCStatus(code: EtcdError.Code.unimplemented.rawValue, message: "unknown method \(method) for service \(service)")
    }

    static func malformedPath(_ path: String) -> GRPCStatus {
        GRPCStatus(code: EtcdError.Code.unimplemented.rawValue, message: "malformed method name: \"\(path)\"")
    }

    static func messageTooLarge(_ length: Int, limit: Int) -> GRPCStatus {
        GRPCStatus(
            code: EtcdError.Code.resourceExhausted.rawValue,
            message: "grpc: received message larger than max (\(length) vs. \(limit))")
    }

    static func unsupportedEncoding(_ encoding: String) -> GRPCStatus {
        GRPCStatus(
            code: EtcdError.Code.unimplemented.rawValue,
            message: "grpc: Decompressor is not installed for grpc-encoding \"\(encoding)\"")
    }

    static let compressedWithoutEncoding = GRPCStatus(
        code: EtcdError.Code.internal.rawValue,
        message: "grpc: compressed flag set with identity or empty encoding")

    static func undecodableRequest(_ error: any Error) -> GRPCStatus {
        GRPCStatus(code: EtcdError.Code.internal.rawValue, message: "grpc: error unmarshalling request: \(error)")
    }

    static let missingRequest = GRPCStatus(
        code: EtcdError.Code.internal.rawValue, message: "grpc: error unmarshalling request: EOF")

    static let tooManyRequests = GRPCStatus(
        code: EtcdError.Code.internal.rawValue, message: "grpc: too many request messages for a unary call")

    /// The trailers (or trailers-only response) for this status.
    var trailers: [(String, String)] {
        var fields = [("grpc-status", String(code))]
        if !message.isEmpty { fields.append(("grpc-message", GRPCMessageText.encode(message))) }
        return fields
    }
}
