import Auth

/// What a request carries to say who sends it: a token (gRPC metadata `token`, or the
/// gateway's `Authorization` header) and the common name of a verified TLS client
/// certificate. A request with neither runs as nobody, which auth refuses once enabled.
public struct Credentials: Sendable {
    /// A simple token or JWT, as the client sent it.
    public var token: String?
    /// The common name of the client's verified TLS certificate.
    public var certificateName: String?

    /// Credentials from what a request carried.
    public init(token: String? = nil, certificateName: String? = nil) {
        self.token = token
        self.certificateName = certificateName
    }

    /// No token and no certificate: what the member's own calls and tests without auth use.
    public static let none = Credentials()
}

/// How the member issues and checks tokens (`--auth-token`).
enum TokenProvider: Sendable {
    /// Random tokens every member learns through the log; they live in memory.
    case simple
    /// Signed, stateless tokens that carry the user and the auth revision.
    case jwt(JWTTokens)
    /// `--auth-token ''`: no tokens at all (only certificates identify callers).
    case none

    init(flag: String) throws {
        switch try AuthTokenOptions(parsing: flag) {
        case .none: self = .none
        case .simple: self = .simple
        case .jwt(let options): self = .jwt(try JWTTokens(options: options))
        }
    }
}
