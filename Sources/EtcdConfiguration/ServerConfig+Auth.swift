/// etcd's auth flags: the token type and its options, the simple tokens' lifetime, and the
/// bcrypt cost of new password hashes.
extension ServerConfig {
    static let authFlags: [FlagParser.Flag] = [
        .init("auth-token", default: "simple", usage: "Specify a v3 authentication token type and token specific options, especially for JWT. Its format is \"type,var1=val1,var2=val2,...\". Possible type is 'simple' or 'jwt'. Possible variables are 'sign-method' for specifying a sign method of jwt (its possible values are 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', or 'PS512'), 'pub-key' for specifying a path to a public key for verifying jwt, 'priv-key' for specifying a path to a private key for signing jwt, and 'ttl' for specifying TTL of jwt tokens."),
        .init("auth-token-ttl", default: "300", usage: "Time (in seconds) of the auth-token-ttl."),
        .init("bcrypt-cost", default: "10", usage: "Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid values are between 4 and 31."),
    ]

    /// Reads the auth flags. The token options are checked when the member builds its token
    /// provider; an out-of-range bcrypt cost falls back to 10 there, as etcd does.
    mutating func parseAuth(_ values: FlagParser.Values) throws {
        authToken = values.string("auth-token")
        authTokenTTLSeconds = try values.unsigned("auth-token-ttl")
        bcryptCost = Int(clamping: try values.unsigned("bcrypt-cost"))
    }
}
