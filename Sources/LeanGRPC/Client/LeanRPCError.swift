/// A gRPC call that failed: the server's `grpc-status` and `grpc-message`, or a
/// connection-level failure (status 14, unavailable).
public struct LeanRPCError: Error, CustomStringConvertible, Sendable {
    /// gRPC status code.
    public var code: Int
    /// What went wrong.
    public var message: String

    /// A failure with gRPC status `code` and `message`.
    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "grpc-status \(code): \(message)" }

    public static func unavailable(_ message: String) -> LeanRPCError { LeanRPCError(code: 14, message: message) }
}
