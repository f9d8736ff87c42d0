import EtcdErrors

/// Why an auth operation or a permission check failed: etcd's gRPC code and exact message.
public struct AuthError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The gRPC status code etcd sends.
    public let code: StatusCode
    /// etcd's message.
    public let message: String

    /// One of etcd's errors.
    public init(_ kind: EtcdErrorKind) {
        code = kind.code
        message = kind.message
    }

    init(code: StatusCode, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// etcd has no client error for this one: it reaches clients as `Unknown` with the
    /// auth store's own text.
    public static let noPasswordUser = AuthError(
        code: .unknown, message: "auth: authentication failed, password was given for no password user")
    /// Go's bcrypt refuses longer passwords, and etcd passes its error on.
    public static let passwordTooLong = AuthError(code: .unknown, message: "bcrypt: password length exceeds 72 bytes")
    /// A JWT provider with only a public key cannot issue tokens.
    public static let verifyOnly = AuthError(code: .unknown, message: "auth: token signing attempted with verify-only key")
    /// 3.6 refuses a grant without a permission.
    public static let permissionNotGiven = AuthError(code: .invalidArgument, message: "etcdserver: permission not given")
}
