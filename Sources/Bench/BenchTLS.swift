import GRPCNIOTransportHTTP2Posix
import NIOSSL

/// TLS for the benchmark's connections, from the flags etcd's benchmark takes (`--cacert`,
/// `--cert`, `--key`) and `--insecure-skip-tls-verify`: one client context shared by every
/// connection of the run, so that a handshake costs what it costs a real client.
public struct BenchTLS: Sendable {
    let trustedCAFile: String?
    let certificateFile: String?
    let keyFile: String?
    let skipVerify: Bool
    let context: NIOSSLContext

    /// Loads the files; an error names what did not load.
    public init(trustedCAFile: String?, certificateFile: String?, keyFile: String?, skipVerify: Bool) throws {
        guard (certificateFile == nil) == (keyFile == nil) else {
            throw BenchError.failed("--cert and --key go together")
        }
        self.trustedCAFile = trustedCAFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.skipVerify = skipVerify
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = ["h2"]
        do {
            if let trustedCAFile { configuration.trustRoots = .file(trustedCAFile) }
            if let certificateFile, let keyFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            }
            if skipVerify { configuration.certificateVerification = .none }
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw BenchError.failed("TLS files (--cacert \(trustedCAFile ?? "-"), --cert \(certificateFile ?? "-"), --key \(keyFile ?? "-")) do not load: \(error)")
        }
    }

    /// A handler for a new connection to `endpoint`: its certificate must be valid for the
    /// host (an IP address is matched against IP SANs), unless verification is skipped.
    func handler(for endpoint: Endpoint) throws -> NIOSSLClientHandler {
        let isAddress = endpoint.isIPv4 || endpoint.host.contains(":")
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : endpoint.host)
    }

    /// The same settings for grpc-swift's transport.
    var grpcSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
        .tls { config in
            if let certificateFile, let keyFile {
                config.certificateChain = [.file(path: certificateFile, format: .pem)]
                config.privateKey = .file(path: keyFile, format: .pem)
            }
            if let trustedCAFile { config.trustRoots = .certificates([.file(path: trustedCAFile, format: .pem)]) }
            config.serverCertificateVerification = skipVerify ? .noVerification : .fullVerification
        }
    }
}
