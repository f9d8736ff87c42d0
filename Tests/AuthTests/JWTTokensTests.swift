import Crypto
import Foundation
import Testing

@testable import Auth

/// Key files made by `openssl` once per test run in a fresh temporary directory.
struct KeyFiles: Sendable {
    let dir: String

    init() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("jwt-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try openssl("genrsa", "-out", "rsa.pem", "2048")  // PKCS#8 with OpenSSL 3
        try openssl("rsa", "-in", "rsa.pem", "-pubout", "-out", "rsa.pub")
        try openssl("genrsa", "-traditional", "-out", "rsa-pkcs1.pem", "2048")
        try openssl("genrsa", "-out", "rsa-other.pem", "2048")
        try openssl("rsa", "-in", "rsa-other.pem", "-pubout", "-out", "rsa-other.pub")
        for (name, curve) in [("p256", "prime256v1"), ("p384", "secp384r1"), ("p521", "secp521r1"), ("p256-other", "prime256v1")] {
            try openssl("ecparam", "-name", curve, "-genkey", "-noout", "-out", "\(name).pem")  // SEC1
            try openssl("ec", "-in", "\(name).pem", "-pubout", "-out", "\(name).pub")
        }
        try openssl("pkcs8", "-topk8", "-nocrypt", "-in", "p256.pem", "-out", "p256-pkcs8.pem")
        for name in ["ed", "ed-other"] {
            try openssl("genpkey", "-algorithm", "ed25519", "-out", "\(name).pem")
            try openssl("pkey", "-in", "\(name).pem", "-pubout", "-out", "\(name).pub")
        }
        try Data("a shared hmac secret".utf8).write(to: URL(fileURLWithPath: path("hs.key")))
        try Data("another hmac secret".utf8).write(to: URL(fileURLWithPath: path("hs-other.key")))
        try Data().write(to: URL(fileURLWithPath: path("empty.key")))
    }

    func path(_ name: String) -> String { dir + "/" + name }

    private func openssl(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments) failed"])
        }
    }
}

let sharedKeys = Result { try KeyFiles() }

func provider(_ method: String, pub: String? = nil, priv: String? = nil, ttl: String? = nil) throws -> JWTTokens {
    let keys = try sharedKeys.get()
    var options = ["sign-method": method]
    if let pub { options["pub-key"] = keys.path(pub) }
    if let priv { options["priv-key"] = keys.path(priv) }
    if let ttl { options["ttl"] = ttl }
    return try JWTTokens(options: options)
}

func b64url(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

func decodeSegment(_ segment: Substring) -> [String: Any]? {
    var text = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    text += String(repeating: "=", count: (4 - text.count % 4) % 4)
    guard let data = Data(base64Encoded: text) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

/// An HS256 token with arbitrary header and payload JSON, signed with `hs.key`.
func craftedHS256(header: String = #"{"alg":"HS256","typ":"JWT"}"#, payload: String) throws -> String {
    let secret = try Data(contentsOf: URL(fileURLWithPath: try sharedKeys.get().path("hs.key")))
    let input = b64url(Data(header.utf8)) + "." + b64url(Data(payload.utf8))
    let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret))
    return input + "." + b64url(Data(mac))
}

let issued = Date(timeIntervalSince1970: 1_800_000_000.75)

@Suite struct RoundTrips {
    static let cases: [(method: String, pub: String, priv: String)] = [
        ("RS256", "rsa.pub", "rsa.pem"), ("RS384", "rsa.pub", "rsa.pem"), ("RS512", "rsa.pub", "rsa.pem"),
        ("PS256", "rsa.pub", "rsa.pem"), ("PS384", "rsa.pub", "rsa.pem"), ("PS512", "rsa.pub", "rsa.pem"),
        ("ES256", "p256.pub", "p256.pem"), ("ES384", "p384.pub", "p384.pem"), ("ES512", "p521.pub", "p521.pem"),
        ("EdDSA", "ed.pub", "ed.pem"),
        ("HS256", "rsa.pub", "hs.key"), ("HS384", "rsa.pub", "hs.key"), ("HS512", "rsa.pub", "hs.key"),
    ]

    @Test(arguments: cases)
    func signThenVerify(method: String, pub: String, priv: String) throws {
        let tokens = try provider(method, pub: pub, priv: priv)
        #expect(!tokens.verifyOnly)
        let token = try tokens.sign(username: "root/ü\"x", revision: 37, now: issued)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
        let header = try #require(decodeSegment(parts[0]))
        #expect(header["alg"] as? String == method)
        #expect(header["typ"] as? String == "JWT")
        let claims = try #require(decodeSegment(parts[1]))
        #expect(claims["exp"] as? Int == 1_800_000_300)
        #expect(claims["revision"] as? Int == 37)

        let verified = try #require(tokens.verify(token, now: issued))
        #expect(verified.username == "root/ü\"x")
        #expect(verified.revision == 37)
    }

    @Test func privateKeyAloneDerivesThePublicKey() throws {
        for (method, priv) in [("RS256", "rsa-pkcs1.pem"), ("PS256", "rsa.pem"), ("ES256", "p256-pkcs8.pem"), ("EdDSA", "ed.pem")] {
            let tokens = try provider(method, priv: priv)
            let token = try tokens.sign(username: "u", revision: 1, now: issued)
            #expect(tokens.verify(token, now: issued)?.revision == 1, "\(method)")
        }
    }

    @Test func largeRevisionAndEmptyUsername() throws {
        let tokens = try provider("HS256", priv: "hs.key")
        let token = try tokens.sign(username: "", revision: 1 << 40, now: issued)
        let verified = try #require(tokens.verify(token, now: issued))
        #expect(verified.username == "" && verified.revision == 1 << 40)
    }
}

@Suite struct Rejections {
    @Test func expiry() throws {
        let tokens = try provider("ES256", pub: "p256.pub", priv: "p256.pem", ttl: "1m30s")
        let token = try tokens.sign(username: "root", revision: 2, now: issued)
        // exp = floor(issued + 90s) = 1_800_000_090.
        #expect(tokens.verify(token, now: Date(timeIntervalSince1970: 1_800_000_089.999)) != nil)
        #expect(tokens.verify(token, now: Date(timeIntervalSince1970: 1_800_000_090)) == nil)
        #expect(tokens.verify(token, now: issued.addingTimeInterval(3600)) == nil)

        let instant = try provider("HS256", priv: "hs.key", ttl: "0s")
        #expect(instant.verify(try instant.sign(username: "root", revision: 2, now: issued), now: issued) == nil)
    }

    @Test(arguments: [
        ("RS256", "rsa.pem", "rsa-other.pem"), ("PS256", "rsa.pem", "rsa-other.pem"),
        ("ES256", "p256.pem", "p256-other.pem"), ("EdDSA", "ed.pem", "ed-other.pem"), ("HS256", "hs.key", "hs-other.key"),
    ])
    func anotherKey(method: String, mine: String, theirs: String) throws {
        let token = try provider(method, priv: theirs).sign(username: "root", revision: 2, now: issued)
        #expect(try provider(method, priv: mine).verify(token, now: issued) == nil)
    }

    @Test func otherAlgorithms() throws {
        let rsa = try provider("RS256", pub: "rsa.pub", priv: "rsa.pem")
        let payload = b64url(Data(#"{"exp":1900000000,"revision":2,"username":"root"}"#.utf8))
        let none = b64url(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + payload + "."
        #expect(rsa.verify(none, now: issued) == nil)

        // Key confusion: HS256 keyed with the RSA public key file, which an attacker can know.
        let pem = try Data(contentsOf: URL(fileURLWithPath: try sharedKeys.get().path("rsa.pub")))
        let input = b64url(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + payload
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: pem))
        #expect(rsa.verify(input + "." + b64url(Data(mac)), now: issued) == nil)

        // Same key, other hash or padding: still a different method.
        let ps = try provider("PS256", priv: "rsa.pem").sign(username: "root", revision: 2, now: issued)
        let rs512 = try provider("RS512", priv: "rsa.pem").sign(username: "root", revision: 2, now: issued)
        #expect(rsa.verify(ps, now: issued) == nil)
        #expect(rsa.verify(rs512, now: issued) == nil)
    }

    @Test func changedPayloadOrHeader() throws {
        let tokens = try provider("RS256", pub: "rsa.pub", priv: "rsa.pem")
        let parts = try tokens.sign(username: "alice", revision: 5, now: issued).split(separator: ".")
        let forged = b64url(Data(#"{"exp":1800000300,"revision":5,"username":"root"}"#.utf8))
        #expect(tokens.verify("\(parts[0]).\(forged).\(parts[2])", now: issued) == nil)
        let header = b64url(Data(#"{"alg":"RS256","typ":"JWT","kid":"x"}"#.utf8))
        #expect(tokens.verify("\(header).\(parts[1]).\(parts[2])", now: issued) == nil)
        var signature = Array(parts[2])
        signature[10] = signature[10] == "A" ? "B" : "A"
        #expect(tokens.verify("\(parts[0]).\(parts[1]).\(String(signature))", now: issued) == nil)
        #expect(tokens.verify("\(parts[0]).\(parts[1]).\(parts[2])", now: issued) != nil)
    }

    @Test(arguments: ["RS256", "ES256", "EdDSA", "HS256"])
    func everyTruncation(method: String) throws {
        let priv = ["RS256": "rsa.pem", "ES256": "p256.pem", "EdDSA": "ed.pem", "HS256": "hs.key"][method]!
        let tokens = try provider(method, priv: priv)
        let token = try tokens.sign(username: "root", revision: 9, now: issued)
        for length in 0..<token.count {
            #expect(tokens.verify(String(token.prefix(length)), now: issued) == nil)
        }
        #expect(tokens.verify(token + "A", now: issued) == nil)
        #expect(tokens.verify(token + "=", now: issued) == nil)
        #expect(tokens.verify(token + ".", now: issued) == nil)
    }

    @Test func garbage() throws {
        let tokens = try provider("HS256", priv: "hs.key")
        let samples = [
            "", ".", "..", "...", "a.b.c", "a..c", "PHhOmHWFUhNWukVD.241", "ünïcödé.ü.ü", "\0.\0.\0",
            String(repeating: "A", count: 100_000), String(repeating: ".", count: 1000),
            b64url(Data("not json".utf8)) + "." + b64url(Data("{}".utf8)) + ".",
            b64url(Data("[1,2]".utf8)) + "." + b64url(Data("[]".utf8)) + "." + b64url(Data("x".utf8)),
            "eyJhbGciOiJIUzI1NiJ9=.e30=.AAAA",
        ]
        for sample in samples { #expect(tokens.verify(sample, now: issued) == nil) }
    }

    @Test func claimTypes() throws {
        let tokens = try provider("HS256", priv: "hs.key")
        let good = try craftedHS256(payload: #"{"exp":1900000000,"revision":4,"username":"root","extra":[1]}"#)
        #expect(tokens.verify(good, now: issued)?.revision == 4)
        #expect(tokens.verify(try craftedHS256(header: #"{"alg":"HS256"}"#, payload: #"{"exp":1900000000,"revision":4,"username":"r"}"#), now: issued) != nil)

        let bad = [
            #"{"exp":1900000000,"revision":4}"#,
            #"{"exp":1900000000,"username":"root"}"#,
            #"{"exp":1900000000,"revision":"4","username":"root"}"#,
            #"{"exp":1900000000,"revision":true,"username":"root"}"#,
            #"{"exp":1900000000,"revision":-1,"username":"root"}"#,
            #"{"exp":1900000000,"revision":1e300,"username":"root"}"#,
            #"{"exp":1900000000,"revision":4,"username":7}"#,
            #"{"exp":1900000000,"revision":4,"username":null}"#,
            #"{"revision":4,"username":"root"}"#,
            #"{"exp":"1900000000","revision":4,"username":"root"}"#,
            #"{"exp":1900000000,"nbf":1850000000,"revision":4,"username":"root"}"#,
            #"{"exp":1900000000,"nbf":"0","revision":4,"username":"root"}"#,
            #"[]"#, #"null"#, #"{"#,
        ]
        for payload in bad { #expect(tokens.verify(try craftedHS256(payload: payload), now: issued) == nil, "\(payload)") }
        let badHeader = try craftedHS256(header: #"{"alg":["HS256"]}"#, payload: #"{"exp":1900000000,"revision":4,"username":"r"}"#)
        #expect(tokens.verify(badHeader, now: issued) == nil)
    }

    @Test func verifyOnlyProvider() throws {
        for (method, pub, priv) in [("RS256", "rsa.pub", "rsa.pem"), ("ES384", "p384.pub", "p384.pem"), ("EdDSA", "ed.pub", "ed.pem")] {
            let verifier = try provider(method, pub: pub)
            #expect(verifier.verifyOnly)
            #expect(throws: AuthTokenConfigError.verifyOnly) { try verifier.sign(username: "root", revision: 1) }
            let token = try provider(method, priv: priv).sign(username: "root", revision: 8, now: issued)
            #expect(verifier.verify(token, now: issued)?.revision == 8)
        }
    }
}

/// Tokens issued by etcd 3.4.23 (`--auth-token jwt,...`, then `/v3/auth/authenticate` as root).
@Suite struct EtcdInterop {
    static let rsaPub = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwZw5XVgEVCDOAGrFq6qj
        sL6tw3RqBPl3lc+00JWjyfDm4dyh3FDsG3bbYb/lHL/e5C5G3e+ujpQlbI8eRnh3
        8fQ7LoCoovWSz/VW7tGjJR9zgbzObWdQta+9MhIW7xzeKkzMej51VqW7te9DCYHE
        8kttB8oJ8SSG2koJNfnQF6UbchveE/t5oZiY3oqCM0H+QFaOamUrvwQ61+npT9zQ
        cDfENQIcwG/ECJQDvJ/OPIiZJYiurEEBd+Wast7Wieer2ApLIllp6bdN+FL4hbWi
        niOW75UT3QTT/uV5fLZeKAqJJh1tvbGer4s8RLz4AUv2qwQbFl88NCK+FF2vdcDD
        nwIDAQAB
        -----END PUBLIC KEY-----

        """
    static let ecPub = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYzoxB/kwMpKa01561PlgOVtNYjGO
        cOpIsCSOKzhP8wz2GAkYinWrQOat/9Bx8njuOVEKsg7dLwjWR9h2xpO15w==
        -----END PUBLIC KEY-----

        """
    static let cases: [(method: String, key: String, token: String)] = [
        ("RS256", rsaPub, "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTY2NjY3NDcsInJldmlzaW9uIjozLCJ1c2VybmFtZSI6InJvb3QifQ.WAeUS3LzJRdoyNEjA_ww5uEeaDk8bbZqEYrh3tOtVda0ez1T3jaNB_gucoX-NnvwM0HR4bP5f6YzcofeNXjrtAnOzm_bUC0NYddxD9CTGbyeZrkxRyOxZhhNq5mPZW0ff7Hk67yI1XR6EecSrEZh-9RNmWFTketSEq0pgYtvPPkyf4BjB3QYHXZ8ie4tfMlXBJyGGTM1NXZWUsZpUBwjU3HgBW6WnRMD7d-6NBxgqdYr35nAFMu87-tJqSjb3_ts8hDxFF_Jxu693eGX7VFyHw7Y5z0RIavdw5ncHLvhd0sXTBMn2D_etE1b4ROP2mYIZE3NYunURUVYRRjzikwEEA"),
        ("PS256", rsaPub, "eyJhbGciOiJQUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTY2NjY3NDgsInJldmlzaW9uIjozLCJ1c2VybmFtZSI6InJvb3QifQ.dlRTkOv11xMDbdwW4EgCQ23vlpJii9pWnRUje5zHGFzZ-QLZP5J9Xh_sNf4wWYsfHOydzJqzvCGMyHKimyshmIN52iJUsjpptFnulstokmEO3rYL6vBgc7159rHG3KLwmoPJNFInvI-FjojthvJ6hOAYsLQCm-9Gv3I7mlu1qLXoUnTVgBjRQy8UxLxIsQJjpXNOIKijGZn5XYpN49xw_0SrKXrsMrMoDGZ6Rt-JI2ouuN80jhXuESe9_B_jmEbgpYMeD_-Gf9b5Ni-gsu8EqTDHj4oim_SHdfqunf0m_PmY2HArRDTVVCqfj8MCLxmmmO7bMDPZE3ardnKi3Wfz7A"),
        ("ES256", ecPub, "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTY2NjY3NDgsInJldmlzaW9uIjozLCJ1c2VybmFtZSI6InJvb3QifQ.sB_FW5pfB3onY44SaYWQjKyD2EMqASzTJ49FcJ56FZocBkkpfuqEkwfUn9YP3_SdXVcl47C02gUO19uqyBDffA"),
        ("HS256", "interop-hmac-secret", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3OTY2NjY3NDksInJldmlzaW9uIjozLCJ1c2VybmFtZSI6InJvb3QifQ.jGt5g-mwn_O2vgtw3hz5gL26D5UWFs60fmvxZIXVMPs"),
    ]

    @Test(arguments: cases)
    func acceptsEtcdToken(method: String, key: String, token: String) throws {
        let file = try sharedKeys.get().path("etcd-\(method).key")
        try Data(key.utf8).write(to: URL(fileURLWithPath: file))
        let option = method == "HS256" ? "priv-key" : "pub-key"
        let tokens = try JWTTokens(options: ["sign-method": method, option: file])
        let before = Date(timeIntervalSince1970: 1_796_666_700)
        let verified = try #require(tokens.verify(token, now: before))
        #expect(verified.username == "root" && verified.revision == 3)
        #expect(tokens.verify(token, now: before.addingTimeInterval(100)) == nil)
    }
}

@Suite struct Options {
    @Test func authTokenFlag() throws {
        #expect(try AuthTokenOptions(parsing: "simple") == .simple)
        #expect(try AuthTokenOptions(parsing: "simple,anything=goes") == .simple)
        #expect(try AuthTokenOptions(parsing: "") == AuthTokenOptions.none)
        #expect(try AuthTokenOptions(parsing: "jwt,pub-key=a.pub,priv-key=a,sign-method=RS256,ttl=10m")
            == .jwt(["pub-key": "a.pub", "priv-key": "a", "sign-method": "RS256", "ttl": "10m"]))
        #expect(try AuthTokenOptions(parsing: "jwt,sign-method=HS256,ttl=") == .jwt(["sign-method": "HS256", "ttl": ""]))
        for bad in ["bogus", "JWT,sign-method=RS256", "jwt,", "jwt,sign-method", "jwt,sign-method=RS256=x",
                    "jwt,ttl=1m,ttl=2m", "jwt,sign-method=RS256,,", "simple,x"] {
            #expect(throws: AuthTokenConfigError.invalidAuthOptions, "\(bad)") { try AuthTokenOptions(parsing: bad) }
        }
    }

    @Test func providerErrors() throws {
        let keys = try sharedKeys.get()
        func expectError(_ error: AuthTokenConfigError, _ options: [String: String]) {
            let resolved = options.mapValues { $0.hasSuffix(".pem") || $0.hasSuffix(".pub") || $0.hasSuffix(".key") ? keys.path($0) : $0 }
            #expect(throws: error, "\(options)") { try JWTTokens(options: resolved) }
        }
        expectError(.invalidAuthOptions, ["sign-method": "XX256", "priv-key": "rsa.pem"])
        expectError(.invalidAuthOptions, ["sign-method": "none", "priv-key": "rsa.pem"])
        expectError(.invalidAuthOptions, ["priv-key": "rsa.pem"])
        expectError(.invalidAuthOptions, ["sign-method": "RS256", "priv-key": "missing.pem"])
        expectError(.invalidAuthOptions, ["sign-method": "RS256", "priv-key": "rsa.pem", "ttl": "5"])
        expectError(.missingKey, ["sign-method": "RS256"])
        expectError(.missingKey, ["sign-method": "ES256", "pub-key": "", "priv-key": ""])
        expectError(.missingKey, ["sign-method": "HS256", "pub-key": "rsa.pub"])
        expectError(.missingKey, ["sign-method": "HS256", "priv-key": "empty.key"])
        expectError(.keyMismatch, ["sign-method": "RS256", "pub-key": "rsa-other.pub", "priv-key": "rsa.pem"])
        expectError(.keyMismatch, ["sign-method": "ES256", "pub-key": "p256-other.pub", "priv-key": "p256.pem"])
        expectError(.keyMismatch, ["sign-method": "EdDSA", "pub-key": "ed-other.pub", "priv-key": "ed.pem"])
        expectError(.invalidKey("key is not a valid ECDSA P-256 private key"), ["sign-method": "ES256", "priv-key": "p384.pem"])
        expectError(.invalidKey("key is not a valid RSA private key"), ["sign-method": "RS256", "priv-key": "p256.pem"])
        expectError(.invalidKey("key is not a valid RSA public key"), ["sign-method": "PS256", "pub-key": "ed.pub"])
        expectError(.invalidKey("key is not a valid Ed25519 private key"), ["sign-method": "EdDSA", "priv-key": "hs.key"])

        #expect(AuthTokenConfigError.invalidAuthOptions.description == "auth: invalid auth options")
        #expect(AuthTokenConfigError.invalidAuthMethod.description == "auth: invalid auth signature method")
        #expect(AuthTokenConfigError.missingKey.description == "auth: missing key data")
        #expect(AuthTokenConfigError.keyMismatch.description == "auth: public and private keys don't match")
        #expect(AuthTokenConfigError.verifyOnly.description == "auth: token signing attempted with verify-only key")
    }

    @Test func ttlAndUnknownKeys() throws {
        #expect(try provider("HS256", priv: "hs.key").ttl == .seconds(300))
        #expect(try provider("HS256", priv: "hs.key", ttl: "").ttl == .seconds(300))
        #expect(try provider("HS256", priv: "hs.key", ttl: "10m").ttl == .seconds(600))
        #expect(JWTTokens.unknownOptions(in: ["ttl": "1m", "zeta": "", "alpha": "1", "sign-method": "x"]) == ["alpha", "zeta"])
    }

    @Test func malformedKeyFilesDoNotCrash() throws {
        let keys = try sharedKeys.get()
        for (name, parse) in [("ed.pem", ed25519Seed(pkcs8:)), ("ed.pub", ed25519Point(spki:))] {
            let der = try pemBlock(try Data(contentsOf: URL(fileURLWithPath: keys.path(name))))
            #expect(try parse(der).count == 32)
            for length in 0..<der.count { #expect(throws: (any Error).self) { try parse(Array(der.prefix(length))) } }
            var long = der
            long[1] = 0x83  // a length longer than the data
            #expect(throws: (any Error).self) { try parse(long) }
        }
        for text in ["", "-----BEGIN X-----", "-----BEGIN X-----\n!!!\n-----END X-----\n"] {
            #expect(throws: (any Error).self) { try pemBlock(Data(text.utf8)) }
        }
    }

    @Test func goDurations() {
        let cases: [(String, Int64?)] = [
            ("0", 0), ("+0", 0), ("-0", 0), ("5m", 300_000_000_000), ("1h2m3s", 3_723_000_000_000),
            ("1.5s", 1_500_000_000), (".5s", 500_000_000), ("5.s", 5_000_000_000), ("-1.5h", -5_400_000_000_000),
            ("300ms", 300_000_000), ("10us", 10_000), ("10µs", 10_000), ("10μs", 10_000), ("7ns", 7),
            ("1.0000000000000000000001s", 1_000_000_000), ("9223372036854775807ns", .max),
            ("-9223372036854775808ns", .min), ("2562047h47m16.854775807s", .max),
            ("", nil), ("5", nil), ("s", nil), (".s", nil), ("-", nil), ("1d", nil), ("1h 2m", nil),
            ("9223372036854775808ns", nil), ("2562048h", nil), ("1e3s", nil), ("00", nil),
        ]
        for (text, expected) in cases { #expect(parseGoDuration(text) == expected, "\(text)") }
    }
}
