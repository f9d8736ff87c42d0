import EtcdConfiguration
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// One port's TLS, built from its files and rebuilt when any of them changes on disk: the
/// certificate and key (as etcd reloads them), and also the CA bundle and the CRL (which
/// etcd reads once). Each new connection takes the newest; connections already open keep
/// the one they started with. A change that does not load (a half-written pair) is
/// logged and the previous files stay in use until the next change.
public final class ReloadingTLSContext: Sendable {
    /// Which end of connections this context serves.
    public enum Role: Sendable {
        /// Accepts connections (a listener).
        case server
        /// Opens connections (a peer or a client), presenting the certificate if given.
        case client
    }

    private struct Loaded {
        var context: NIOSSLContext
        var check: PeerCertificateCheck
        var stamps: [FileStamp?]
        var lastLook: ContinuousClock.Instant
    }

    private let settings: TLSSettings
    private let policy: TLSPolicy
    private let role: Role
    private let logger: Logger
    private let loaded: NIOLockedValueBox<Loaded>
    /// The files are looked at no more often than this, so a burst of connections costs one
    /// look rather than one per connection.
    private static let lookInterval: Duration = .milliseconds(100)

    /// Loads the files named by `settings`; the error names the file that failed.
    public init(settings: TLSSettings, policy: TLSPolicy, role: Role, logger: Logger) throws {
        self.settings = settings
        self.policy = policy
        self.role = role
        self.logger = logger
        let stamps = Self.paths(of: settings).map(FileStamp.init(path:))
        let (context, check) = try Self.build(settings, policy, role)
        loaded = NIOLockedValueBox(Loaded(context: context, check: check, stamps: stamps, lastLook: .now))
    }

    /// The context for a new connection, rebuilt first if a file changed.
    func current() -> (context: NIOSSLContext, check: PeerCertificateCheck) {
        loaded.withLockedValue { state in
            let now = ContinuousClock.now
            if now - state.lastLook >= Self.lookInterval {
                state.lastLook = now
                let stamps = Self.paths(of: settings).map(FileStamp.init(path:))
                if stamps != state.stamps {
                    state.stamps = stamps
                    do {
                        (state.context, state.check) = try Self.build(settings, policy, role)
                        logger.info("reloaded TLS files", metadata: ["files": "\(Self.paths(of: settings))"])
                    } catch {
                        logger.warning(
                            "changed TLS files do not load; keeping the previous ones",
                            metadata: ["error": "\(error)"])
                    }
                }
            }
            return (state.context, state.check)
        }
    }

    /// The handshake signatures accepted: Go's defaults without the SHA-1 ones.
    static let verifiedSignatureAlgorithms: [SignatureAlgorithm] = [
        .rsaPssRsaeSha256, .ecdsaSecp256R1Sha256, .ed25519, .rsaPssRsaeSha384, .rsaPssRsaeSha512,
        .rsaPkcs1Sha256, .rsaPkcs1Sha384, .rsaPkcs1Sha512, .ecdsaSecp384R1Sha384, .ecdsaSecp521R1Sha512,
    ]

    private static func paths(of settings: TLSSettings) -> [String] {
        [settings.certFile, settings.keyFile, settings.trustedCAFile, settings.crlFile].filter { !$0.isEmpty }
    }

    private static func build(
        _ settings: TLSSettings, _ policy: TLSPolicy, _ role: Role
    ) throws -> (NIOSSLContext, PeerCertificateCheck) {
        var configuration: TLSConfiguration
        switch role {
        case .server:
            let pair = try PEMFiles.keyPair(cert: settings.certFile, key: settings.keyFile)
            configuration = .makeServerConfiguration(
                certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
            // Server preference: gRPC clients offer only h2; HTTP clients that offer both
            // (curl, browsers) get HTTP/1.1, which serves /health and the gateway.
            configuration.applicationProtocols = ["http/1.1", "h2"]
            if settings.requiresClientCertificate {
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = settings.trustedCAFile.isEmpty ? .default : .certificates(try PEMFiles.certificates(settings.trustedCAFile))
            } else {
                configuration.certificateVerification = .none
            }
        case .client:
            configuration = .makeClientConfiguration()
            configuration.applicationProtocols = ["h2"]
            if settings.hasCertificate {
                let pair = try PEMFiles.keyPair(cert: settings.certFile, key: settings.keyFile)
                configuration.certificateChain = pair.chain.map { .certificate($0) }
                configuration.privateKey = .privateKey(pair.key)
            }
            if settings.autoTLS {
                configuration.certificateVerification = .none
            } else if !settings.trustedCAFile.isEmpty {
                configuration.trustRoots = .certificates(try PEMFiles.certificates(settings.trustedCAFile))
            }
        }
        // BoringSSL leaves P-521 out of its defaults; Go (and so etcd's `--auto-tls`
        // certificates, and ours) uses it.
        configuration.verifySignatureAlgorithms = Self.verifiedSignatureAlgorithms
        configuration.minimumTLSVersion = policy.minimumVersion.nio
        configuration.maximumTLSVersion = policy.maximumVersion?.nio
        if !policy.cipherSuites.isEmpty {
            configuration.cipherSuiteValues = policy.cipherSuites.compactMap { TLSPolicy.knownCipherSuites[$0] }.map(NIOTLSCipher.init(rawValue:))
        }
        var check = PeerCertificateCheck()
        if !settings.crlFile.isEmpty { check.revocations = try RevocationList(file: settings.crlFile) }
        check.allowedCommonNames = settings.allowedCommonNames
        check.allowedHostnames = settings.allowedHostnames
        check.verifiesRemoteAddress = role == .server && settings.verifiesRemoteAddress
        do {
            return (try NIOSSLContext(configuration: configuration), check)
        } catch {
            throw ConfigError("TLS files (--cert-file \(settings.certFile), --key-file \(settings.keyFile)) do not make a TLS configuration: \(error)")
        }
    }
}

extension EtcdConfiguration.TLSVersion {
    var nio: NIOSSL.TLSVersion { self == .tls13 ? .tlsv13 : .tlsv12 }
}

/// What tells that a file changed: its inode (a file replaced by rename), size and mtime.
struct FileStamp: Equatable {
    let inode: UInt64
    let size: Int64
    let modified: timespec

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim
    }

    static func == (lhs: FileStamp, rhs: FileStamp) -> Bool {
        lhs.inode == rhs.inode && lhs.size == rhs.size
            && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
    }
}
