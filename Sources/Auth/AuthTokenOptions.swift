import Foundation

/// Errors raised while configuring or using a token provider. Their descriptions are etcd's
/// error messages (`server/auth/store.go`), which the server prints when it refuses to start.
public enum AuthTokenConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A malformed `--auth-token` value, an unknown token type, or (as in etcd) a bad JWT option:
    /// unknown `sign-method`, unparsable `ttl`, unreadable key file.
    case invalidAuthOptions
    /// etcd's `ErrInvalidAuthMethod`. etcd's JWT provider wraps it into `invalidAuthOptions`
    /// before it reaches the caller, and `JWTTokens` does the same; kept for callers that need it.
    case invalidAuthMethod
    /// Neither a usable `pub-key` nor `priv-key` was given.
    case missingKey
    /// `pub-key` is not the public half of `priv-key`.
    case keyMismatch
    /// `sign` was called on a provider configured with only a public key.
    case verifyOnly
    /// A key file could not be parsed as a key for the sign method. etcd passes through the
    /// message of the JWT library here, so this text is ours, not etcd's.
    case invalidKey(String)

    public var description: String {
        switch self {
        case .invalidAuthOptions: return "auth: invalid auth options"
        case .invalidAuthMethod: return "auth: invalid auth signature method"
        case .missingKey: return "auth: missing key data"
        case .keyMismatch: return "auth: public and private keys don't match"
        case .verifyOnly: return "auth: token signing attempted with verify-only key"
        case .invalidKey(let reason): return reason
        }
    }
}

/// The token provider selected by etcd's `--auth-token` flag (default `simple`).
public enum AuthTokenOptions: Equatable, Sendable {
    /// `""`: etcd's no-op provider, which issues no tokens.
    case none
    /// `simple`: random opaque tokens kept in memory. Any options after it are accepted and ignored.
    case simple
    /// `jwt,k=v,...`: signed JWTs; the options are handed to `JWTTokens.init(options:)`.
    case jwt([String: String])

    /// Parses a `--auth-token` value as etcd's `decomposeOpts` and `NewTokenProvider` do:
    /// split on `,`, the first element is the type, the rest must be `key=value` pairs with
    /// exactly one `=` and no repeated key.
    /// - Throws: `AuthTokenConfigError.invalidAuthOptions`.
    public init(parsing value: String) throws {
        let elements = value.split(separator: ",", omittingEmptySubsequences: false)
        var options: [String: String] = [:]
        for element in elements.dropFirst() {
            let pair = element.split(separator: "=", omittingEmptySubsequences: false)
            guard pair.count == 2 else { throw AuthTokenConfigError.invalidAuthOptions }
            let key = String(pair[0])
            guard options[key] == nil else { throw AuthTokenConfigError.invalidAuthOptions }
            options[key] = String(pair[1])
        }
        switch elements[0] {
        case "": self = .none
        case "simple": self = .simple
        case "jwt": self = .jwt(options)
        default: throw AuthTokenConfigError.invalidAuthOptions
        }
    }
}

/// Parses a Go `time.ParseDuration` string (`300ms`, `-1.5h`, `2h45m`, `0`) into nanoseconds.
/// Returns nil wherever Go returns an error, including on overflow of an Int64.
func parseGoDuration(_ text: String) -> Int64? {
    let limit: UInt64 = 1 << 63
    var s = Substring(text).utf8[...]
    var negative = false
    if let c = s.first, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
        negative = c == UInt8(ascii: "-")
        s = s.dropFirst()
    }
    if s.elementsEqual("0".utf8) { return 0 }
    if s.isEmpty { return nil }

    func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    let units: [String: UInt64] = [
        "ns": 1, "us": 1_000, "\u{B5}s": 1_000, "\u{3BC}s": 1_000, "ms": 1_000_000,
        "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]
    var total: UInt64 = 0
    while let first = s.first {
        guard first == UInt8(ascii: ".") || isDigit(first) else { return nil }
        var whole: UInt64 = 0
        let intDigits = s.prefix(while: isDigit)
        for c in intDigits {
            guard whole <= limit / 10 else { return nil }
            whole = whole * 10 + UInt64(c - UInt8(ascii: "0"))
            guard whole <= limit else { return nil }
        }
        s = s.dropFirst(intDigits.count)
        var fraction: UInt64 = 0
        var scale = 1.0
        var fracDigits = 0
        if s.first == UInt8(ascii: ".") {
            s = s.dropFirst()
            let digits = s.prefix(while: isDigit)
            fracDigits = digits.count
            var overflowed = false
            // Like Go, digits past what fits are consumed but no longer add precision.
            for c in digits where !overflowed {
                if fraction > (limit - 1) / 10 { overflowed = true; continue }
                let next = fraction * 10 + UInt64(c - UInt8(ascii: "0"))
                if next > limit { overflowed = true; continue }
                fraction = next
                scale *= 10
            }
            s = s.dropFirst(fracDigits)
        }
        guard intDigits.count > 0 || fracDigits > 0 else { return nil }

        let unitBytes = s.prefix { $0 != UInt8(ascii: ".") && !isDigit($0) }
        guard !unitBytes.isEmpty,
              let unit = units[String(decoding: unitBytes, as: UTF8.self)] else { return nil }
        s = s.dropFirst(unitBytes.count)

        guard whole <= limit / unit else { return nil }
        var value = whole * unit
        if fraction > 0 {
            value += UInt64(Double(fraction) * (Double(unit) / scale))
            guard value <= limit else { return nil }
        }
        let (sum, overflow) = total.addingReportingOverflow(value)
        guard !overflow, sum <= limit else { return nil }
        total = sum
    }
    if negative { return total == limit ? Int64.min : -Int64(total) }
    guard total < limit else { return nil }
    return Int64(total)
}

// MARK: - Key files

struct KeyFormatError: Error {}

/// The DER bytes of the first PEM block in `file`, like Go's `pem.Decode`.
func pemBlock(_ file: Data) throws -> [UInt8] {
    let text = String(decoding: file, as: UTF8.self)
    guard let begin = text.range(of: "-----BEGIN "),
          let beginEnd = text.range(of: "-----\n", range: begin.upperBound..<text.endIndex)
            ?? text.range(of: "-----\r\n", range: begin.upperBound..<text.endIndex),
          let end = text.range(of: "-----END ", range: beginEnd.upperBound..<text.endIndex)
    else { throw KeyFormatError() }
    let body = text[beginEnd.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
    guard let der = Data(base64Encoded: String(body)) else { throw KeyFormatError() }
    return [UInt8](der)
}

/// Reads DER TLVs; just enough ASN.1 for the fixed Ed25519 PKCS#8 and SPKI layouts (RFC 8410).
private struct DERReader {
    var bytes: ArraySlice<UInt8>

    mutating func read(tag: UInt8) throws -> ArraySlice<UInt8> {
        guard bytes.count >= 2, bytes.first == tag else { throw KeyFormatError() }
        var index = bytes.startIndex + 1
        var length = Int(bytes[index])
        index += 1
        if length >= 0x80 {
            let count = length & 0x7F
            guard (1...3).contains(count), bytes.endIndex - index >= count else { throw KeyFormatError() }
            length = bytes[index..<index + count].reduce(0) { $0 << 8 | Int($1) }
            index += count
        }
        guard bytes.endIndex - index >= length else { throw KeyFormatError() }
        defer { bytes = bytes[(index + length)...] }
        return bytes[index..<index + length]
    }
}

private let ed25519AlgorithmID: [UInt8] = [0x06, 0x03, 0x2B, 0x65, 0x70]  // OID 1.3.101.112

/// The 32-byte seed in a PKCS#8 `PrivateKeyInfo` for Ed25519.
func ed25519Seed(pkcs8 der: [UInt8]) throws -> [UInt8] {
    var outer = DERReader(bytes: der[...])
    var info = DERReader(bytes: try outer.read(tag: 0x30))
    _ = try info.read(tag: 0x02)
    guard Array(try info.read(tag: 0x30)) == ed25519AlgorithmID else { throw KeyFormatError() }
    var wrapped = DERReader(bytes: try info.read(tag: 0x04))
    let seed = try wrapped.read(tag: 0x04)
    guard seed.count == 32 else { throw KeyFormatError() }
    return Array(seed)
}

/// The 32-byte point in a `SubjectPublicKeyInfo` for Ed25519.
func ed25519Point(spki der: [UInt8]) throws -> [UInt8] {
    var outer = DERReader(bytes: der[...])
    var info = DERReader(bytes: try outer.read(tag: 0x30))
    guard Array(try info.read(tag: 0x30)) == ed25519AlgorithmID else { throw KeyFormatError() }
    let bits = try info.read(tag: 0x03)
    guard bits.count == 33, bits.first == 0 else { throw KeyFormatError() }
    return Array(bits.dropFirst())
}
