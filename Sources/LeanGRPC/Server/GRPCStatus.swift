import GRPCCore

/// The outcome of a call as the trailers carry it: a gRPC status code and its message.
public struct GRPCStatus: Error, Equatable, Sendable {
    public let code: Int
    public let message: String

    public static let ok = GRPCStatus(code: 0, message: "")

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// The status for whatever a handler threw: errors that name their gRPC status (etcd's
    /// errors do) keep their code and text, cancellation is `Cancelled`, anything else
    /// `Unknown` with its description.
    public init(_ error: any Error) {
        switch error {
        case let status as GRPCStatus: self = status
        case let rpc as RPCError: self.init(code: rpc.code.rawValue, message: rpc.message)
        case let convertible as any RPCErrorConvertible:
            self.init(code: convertible.rpcErrorCode.rawValue, message: convertible.rpcErrorMessage)
        case is CancellationError: self.init(code: RPCError.Code.cancelled.rawValue, message: "context canceled")
        default: self.init(code: RPCError.Code.unknown.rawValue, message: "\(error)")
        }
    }

    // grpc-go's own wording for the failures it detects before a handler runs.

    public static func unknownService(_ service: Substring) -> GRPCStatus {
        GRPCStatus(code: RPCError.Code.unimplemented.rawValue, message: "unknown service \(service)")
    }

    public static func unknownMethod(_ method: Substring, service: Substring) -> GRPCStatus {
        GRPCStatus(code: RPCError.Code.unimplemented.rawValue, message: "unknown method \(method) for service \(service)")
    }

    public static func malformedPath(_ path: String) -> GRPCStatus {
        GRPCStatus(code: RPCError.Code.unimplemented.rawValue, message: "malformed method name: \"\(path)\"")
    }

    public static func messageTooLarge(_ length: Int, limit: Int) -> GRPCStatus {
        GRPCStatus(
            code: RPCError.Code.resourceExhausted.rawValue,
            message: "grpc: received message larger than max (\(length) vs. \(limit))")
    }

    public static func unsupportedEncoding(_ encoding: String) -> GRPCStatus {
        GRPCStatus(
            code: RPCError.Code.unimplemented.rawValue,
            message: "grpc: Decompressor is not installed for grpc-encoding \"\(encoding)\"")
    }

    public static let compressedWithoutEncoding = GRPCStatus(
        code: RPCError.Code.internalError.rawValue,
        message: "grpc: compressed flag set with identity or empty encoding")

    public static func undecodableRequest(_ error: any Error) -> GRPCStatus {
        GRPCStatus(code: RPCError.Code.internalError.rawValue, message: "grpc: error unmarshalling request: \(error)")
    }

    public static let missingRequest = GRPCStatus(
        code: RPCError.Code.internalError.rawValue, message: "grpc: error unmarshalling request: EOF")

    public static let tooManyRequests = GRPCStatus(
        code: RPCError.Code.internalError.rawValue, message: "grpc: too many request messages for a unary call")

    /// The trailers (or trailers-only response) for this status.
    public var trailers: [(String, String)] {
        var fields = [("grpc-status", String(code))]
        if !message.isEmpty { fields.append(("grpc-message", GRPCMessageText.encode(message))) }
        return fields
    }
}
