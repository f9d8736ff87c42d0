import Crypto
import Foundation
import _CryptoExtras

/// etcd's JWT token provider (`--auth-token jwt,sign-method=...,pub-key=...,priv-key=...,ttl=...`).
///
/// Tokens are compact JWS strings whose payload holds the `username`, `revision` (auth revision
/// at issue time) and `exp` (Unix seconds) claims, so they can be checked by any member holding
/// the key without shared state.
public final class JWTTokens: Sendable {
    /// The option keys etcd understands; any other key only earns a warning.
    public static let knownOptions: Set<String> = ["sign-method", "pub-key", "priv-key", "ttl"]

    /// The configured JWS algorithm (`RS256`, `ES384`, `EdDSA`, `HS512`, ...).
    public let signMethod: String
    /// The lifetime of issued tokens (`ttl`, default 5 minutes).
    public let ttl: Duration
    /// True when only a public key was configured: tokens verify, but `sign` throws.
    public var verifyOnly: Bool { !key.canSign }

    private let hash: HashKind
    private let key: Key
    private let ttlNanoseconds: Int64

    /// Builds a provider from the `k=v` options of `--auth-token jwt,...`, reading the key files.
    /// - Throws: `AuthTokenConfigError`, with the error etcd would report for the same options.
    public init(options: [String: String]) throws {
        // Same order of checks as etcd's jwtOptions.Parse and Key, so the first error matches.
        var ttl: Int64 = 5 * 60 * 1_000_000_000
        if let text = options["ttl"], !text.isEmpty {
            guard let parsed = parseGoDuration(text) else { throw AuthTokenConfigError.invalidAuthOptions }
            ttl = parsed
        }
        func readFile(_ option: String) throws -> Data? {
            guard let path = options[option], !path.isEmpty else { return nil }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AuthTokenConfigError.invalidAuthOptions
            }
            return data
        }
        let publicPEM = try readFile("pub-key")
        let privatePEM = try readFile("priv-key")
        let method = options["sign-method"] ?? ""
        guard let (family, hash) = Self.methods[method] else { throw AuthTokenConfigError.invalidAuthOptions }

        self.signMethod = method
        self.hash = hash
        self.ttlNanoseconds = ttl
        self.ttl = .nanoseconds(ttl)
        self.key = try Key(family: family, hash: hash, publicPEM: publicPEM, privatePEM: privatePEM)
    }

    /// The option keys in `options` that etcd does not know (etcd logs them as `unknown JWT options`).
    public static func unknownOptions(in options: [String: String]) -> [String] {
        options.keys.filter { !knownOptions.contains($0) }.sorted()
    }

    /// Issues a token for `username` at auth revision `revision`, expiring at `now + ttl`.
    /// - Throws: `AuthTokenConfigError.verifyOnly` without a private key.
    public func sign(username: String, revision: UInt64, now: Date = Date()) throws -> String {
        let expiry = (now.timeIntervalSince1970 + Double(ttlNanoseconds) / 1e9).rounded(.down)
        let claims = Claims(exp: Int64(expiry), revision: revision, username: username)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = Data(#"{"alg":"\#(signMethod)","typ":"JWT"}"#.utf8)
        let input = base64URL(header) + "." + base64URL(try encoder.encode(claims))
        let signature = try key.sign(Data(input.utf8), hash: hash)
        return input + "." + base64URL(signature)
    }

    /// Returns the claims of a valid token, or nil for any token that is malformed, signed with
    /// another algorithm or key, expired or not yet valid, or lacks a `username` or `revision`.
    public func verify(_ token: String, now: Date = Date()) -> (username: String, revision: UInt64)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let header = decodeObject(parts[0]),
              case .string(let alg)? = header["alg"], alg == signMethod,
              let claims = decodeObject(parts[1]),
              let signature = base64URLDecode(parts[2]) else { return nil }
        let input = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValid(signature, for: input, hash: hash) else { return nil }

        let nowSeconds = now.timeIntervalSince1970
        // etcd's JWT library does not require `exp`; every token etcd issues has one, so we do.
        guard case .number(let exp)? = claims["exp"], nowSeconds < exp else { return nil }
        switch claims["nbf"] {
        case nil: break
        case .number(let nbf)? where nowSeconds >= nbf: break
        default: return nil
        }
        guard case .string(let username)? = claims["username"],
              case .number(let revision)? = claims["revision"],
              revision >= 0, revision < 0x1p64 else { return nil }
        return (username, UInt64(revision))
    }

    private static let methods: [String: (KeyFamily, HashKind)] = [
        "RS256": (.rsa, .sha256), "RS384": (.rsa, .sha384), "RS512": (.rsa, .sha512),
        "PS256": (.rsaPSS, .sha256), "PS384": (.rsaPSS, .sha384), "PS512": (.rsaPSS, .sha512),
        "ES256": (.ecdsa, .sha256), "ES384": (.ecdsa, .sha384), "ES512": (.ecdsa, .sha512),
        "EdDSA": (.eddsa, .sha512),  // Ed25519 hashes internally; the hash here is unused
        "HS256": (.hmac, .sha256), "HS384": (.hmac, .sha384), "HS512": (.hmac, .sha512),
    ]
}

private struct Claims: Encodable {
    let exp: Int64
    let revision: UInt64
    let username: String
}

private enum KeyFamily { case rsa, rsaPSS, ecdsa, eddsa, hmac }

private enum HashKind: Sendable {
    case sha256, sha384, sha512

    func digest(_ data: Data) -> any Digest {
        switch self {
        case .sha256: return SHA256.hash(data: data)
        case .sha384: return SHA384.hash(data: data)
        case .sha512: return SHA512.hash(data: data)
        }
    }
}

/// A verification key plus, unless verify-only, its signing half. ECDSA curves follow the hash:
/// ES256 needs P-256, ES384 P-384, ES512 P-521, as in JWS.
// swift-crypto 3.12 does not mark its EC, Ed25519 and symmetric keys Sendable on Linux. They are
// immutable values, and BoringSSL signs and verifies with a shared key from many threads safely.
private enum Key: @unchecked Sendable {
    case rsa(_RSA.Signing.PrivateKey?, _RSA.Signing.PublicKey, _RSA.Signing.Padding)
    case p256(P256.Signing.PrivateKey?, P256.Signing.PublicKey)
    case p384(P384.Signing.PrivateKey?, P384.Signing.PublicKey)
    case p521(P521.Signing.PrivateKey?, P521.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PrivateKey?, Curve25519.Signing.PublicKey)
    case hmac(SymmetricKey)

    init(family: KeyFamily, hash: HashKind, publicPEM: Data?, privatePEM: Data?) throws {
        // Each parser maps a PEM file to (key, its public DER or raw bytes for the match check).
        func pair<Priv, Pub>(
            _ parsePrivate: ([UInt8]) throws -> Priv, _ publicOf: (Priv) -> Pub,
            _ parsePublic: ([UInt8]) throws -> Pub, _ bytes: (Pub) -> Data, _ kind: String
        ) throws -> (Priv?, Pub) {
            let priv = try privatePEM.map { pem in
                try attempt("key is not a valid \(kind) private key") { try parsePrivate(try pemBlock(pem)) }
            }
            let pub = try publicPEM.map { pem in
                try attempt("key is not a valid \(kind) public key") { try parsePublic(try pemBlock(pem)) }
            }
            guard let priv else {
                guard let pub else { throw AuthTokenConfigError.missingKey }
                return (nil, pub)
            }
            if let pub, bytes(pub) != bytes(publicOf(priv)) { throw AuthTokenConfigError.keyMismatch }
            return (priv, publicOf(priv))
        }

        switch (family, hash) {
        case (.hmac, _):
            guard let secret = privatePEM, !secret.isEmpty else { throw AuthTokenConfigError.missingKey }
            self = .hmac(SymmetricKey(data: secret))
        case (.rsa, _), (.rsaPSS, _):
            // The unsafe initialisers accept 1024-bit keys, which Go (and so etcd) accepts too.
            let (priv, pub) = try pair(
                { try _RSA.Signing.PrivateKey(unsafeDERRepresentation: $0) }, { $0.publicKey },
                { try _RSA.Signing.PublicKey(unsafeDERRepresentation: $0) }, { $0.derRepresentation }, "RSA")
            self = .rsa(priv, pub, family == .rsa ? .insecurePKCS1v1_5 : .PSS)
        case (.ecdsa, .sha256):
            let (priv, pub) = try pair(
                { try P256.Signing.PrivateKey(derRepresentation: $0) }, { $0.publicKey },
                { try P256.Signing.PublicKey(derRepresentation: $0) }, { $0.rawRepresentation }, "ECDSA P-256")
            self = .p256(priv, pub)
        case (.ecdsa, .sha384):
            let (priv, pub) = try pair(
                { try P384.Signing.PrivateKey(derRepresentation: $0) }, { $0.publicKey },
                { try P384.Signing.PublicKey(derRepresentation: $0) }, { $0.rawRepresentation }, "ECDSA P-384")
            self = .p384(priv, pub)
        case (.ecdsa, .sha512):
            let (priv, pub) = try pair(
                { try P521.Signing.PrivateKey(derRepresentation: $0) }, { $0.publicKey },
                { try P521.Signing.PublicKey(derRepresentation: $0) }, { $0.rawRepresentation }, "ECDSA P-521")
            self = .p521(priv, pub)
        case (.eddsa, _):
            let (priv, pub) = try pair(
                { try Curve25519.Signing.PrivateKey(rawRepresentation: try ed25519Seed(pkcs8: $0)) }, { $0.publicKey },
                { try Curve25519.Signing.PublicKey(rawRepresentation: try ed25519Point(spki: $0)) },
                { $0.rawRepresentation }, "Ed25519")
            self = .ed25519(priv, pub)
        }
    }

    var canSign: Bool {
        switch self {
        case .rsa(let priv, _, _): return priv != nil
        case .p256(let priv, _): return priv != nil
        case .p384(let priv, _): return priv != nil
        case .p521(let priv, _): return priv != nil
        case .ed25519(let priv, _): return priv != nil
        case .hmac: return true
        }
    }

    func sign(_ input: Data, hash: HashKind) throws -> Data {
        switch self {
        case .rsa(let priv?, _, let padding):
            return try priv.signature(for: hash.digest(input), padding: padding).rawRepresentation
        case .p256(let priv?, _): return try priv.signature(for: input).rawRepresentation
        case .p384(let priv?, _): return try priv.signature(for: input).rawRepresentation
        case .p521(let priv?, _): return try priv.signature(for: input).rawRepresentation
        case .ed25519(let priv?, _): return try priv.signature(for: input)
        case .rsa, .p256, .p384, .p521, .ed25519: throw AuthTokenConfigError.verifyOnly
        case .hmac(let secret):
            switch hash {
            case .sha256: return Data(HMAC<SHA256>.authenticationCode(for: input, using: secret))
            case .sha384: return Data(HMAC<SHA384>.authenticationCode(for: input, using: secret))
            case .sha512: return Data(HMAC<SHA512>.authenticationCode(for: input, using: secret))
            }
        }
    }

    func isValid(_ signature: Data, for input: Data, hash: HashKind) -> Bool {
        switch self {
        case .rsa(_, let pub, let padding):
            return pub.isValidSignature(.init(rawRepresentation: signature), for: hash.digest(input), padding: padding)
        case .p256(_, let pub):
            guard let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return pub.isValidSignature(sig, for: input)
        case .p384(_, let pub):
            guard let sig = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return pub.isValidSignature(sig, for: input)
        case .p521(_, let pub):
            guard let sig = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return pub.isValidSignature(sig, for: input)
        case .ed25519(_, let pub):
            return pub.isValidSignature(signature, for: input)
        case .hmac(let secret):
            switch hash {
            case .sha256: return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: secret)
            case .sha384: return HMAC<SHA384>.isValidAuthenticationCode(signature, authenticating: input, using: secret)
            case .sha512: return HMAC<SHA512>.isValidAuthenticationCode(signature, authenticating: input, using: secret)
            }
        }
    }
}

private func attempt<T>(_ message: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw AuthTokenConfigError.invalidKey(message) }
}

private func base64URL(_ data: Data) -> String {
    var text = data.base64EncodedString()
    text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    while text.hasSuffix("=") { text.removeLast() }
    return text
}

/// Decodes unpadded base64url, as JWS segments are; nil on any other character or bad length.
private func base64URLDecode(_ segment: Substring) -> Data? {
    var text = ""
    text.reserveCapacity(segment.utf8.count + 3)
    for c in segment.unicodeScalars {
        switch c {
        case "A"..."Z", "a"..."z", "0"..."9": text.unicodeScalars.append(c)
        case "-": text.append("+")
        case "_": text.append("/")
        default: return nil
        }
    }
    guard text.utf8.count % 4 != 1 else { return nil }
    text += String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
    return Data(base64Encoded: text)
}

private enum JSONValue: Decodable {
    case string(String), number(Double), other

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool first, so `true` is never read as the number 1.
        if (try? container.decode(Bool.self)) != nil {
            self = .other
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else {
            self = .other
        }
    }
}

private func decodeObject(_ segment: Substring) -> [String: JSONValue]? {
    guard let data = base64URLDecode(segment) else { return nil }
    return try? JSONDecoder().decode([String: JSONValue].self, from: data)
}
