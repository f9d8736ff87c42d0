/// The TLS settings of one port (client or peer), as etcd's `transport.TLSInfo`: PEM files,
/// whether the other side must present a certificate, and what it must say.
public struct TLSSettings: Sendable, Equatable {
    /// The certificate this side presents (`--cert-file` / `--peer-cert-file`).
    public var certFile = ""
    /// Its private key (`--key-file` / `--peer-key-file`).
    public var keyFile = ""
    /// The CA bundle the other side's certificate must chain to (`--trusted-ca-file`).
    public var trustedCAFile = ""
    /// Whether the other side must present a certificate (`--client-cert-auth`).
    public var clientCertAuth = false
    /// A certificate revocation list (`--client-crl-file` / `--peer-crl-file`).
    public var crlFile = ""
    /// Generate a self-signed certificate at start (`--auto-tls` / `--peer-auto-tls`).
    public var autoTLS = false
    /// Common names a peer certificate may carry (`--peer-cert-allowed-cn`; empty: any).
    public var allowedCommonNames: [String] = []
    /// Host names a peer certificate must be valid for (`--peer-cert-allowed-hostname`).
    public var allowedHostnames: [String] = []
    /// Whether a certificate with IP or DNS SANs must name the address it connects from (the
    /// peer port, unless `--peer-skip-client-san-verification`).
    public var verifiesRemoteAddress = false

    /// Creates empty settings: no TLS.
    public init() {}

    /// Whether a certificate and key were given.
    public var hasCertificate: Bool { !certFile.isEmpty && !keyFile.isEmpty }

    /// Whether the other side must present a certificate. As in etcd, naming a trusted CA
    /// alone already asks for one.
    public var requiresClientCertificate: Bool { clientCertAuth || !trustedCAFile.isEmpty }
}

/// The protocol versions `--tls-min-version` and `--tls-max-version` accept (etcd 3.6).
public enum TLSVersion: String, Sendable, Comparable, CaseIterable {
    case tls12 = "TLS1.2"
    case tls13 = "TLS1.3"

    /// Parses etcd's spelling, refusing others with etcd's message.
    public init(flag text: String) throws {
        guard let version = TLSVersion(rawValue: text) else {
            throw ConfigError("unexpected TLS version \"\(text)\" (must be one of: TLS1.2, TLS1.3)")
        }
        self = version
    }

    public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What is shared by both ports' TLS: cipher suites, protocol versions and the validity of
/// generated certificates.
public struct TLSPolicy: Sendable, Equatable {
    /// IANA names of the TLS 1.2 cipher suites allowed (`--cipher-suites`; empty: the library's).
    public var cipherSuites: [String] = []
    /// The lowest protocol version accepted (`--tls-min-version`).
    public var minimumVersion: TLSVersion = .tls12
    /// The highest protocol version accepted (`--tls-max-version`; nil: the newest known).
    public var maximumVersion: TLSVersion?
    /// Years a certificate made by `--auto-tls` is valid (`--self-signed-cert-validity`).
    public var selfSignedCertValidityYears = 1

    /// The defaults: TLS 1.2 and newer, the library's cipher suites.
    public init() {}

    /// The TLS 1.2 cipher suites etcd (Go's `crypto/tls`) accepts by name, with the IANA code.
    /// TLS 1.3 suites are not configurable, in Go as in swift-nio-ssl.
    public static let knownCipherSuites: [String: UInt16] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": 0x002F,
        "TLS_RSA_WITH_AES_256_CBC_SHA": 0x0035,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": 0x009C,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": 0x009D,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": 0xC009,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": 0xC00A,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": 0xC013,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": 0xC014,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xC02B,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": 0xC02C,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": 0xC030,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA8,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA9,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": 0xCCA8,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": 0xCCA9,
    ]
}
