import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import HarnessSupport

/// A gRPC connection to one server for tests, closed by `close()`.
final class EtcdTestClient: Sendable {
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let kv: Etcdserverpb_KV.Client<HTTP2ClientTransport.Posix>
    let maintenance: Etcdserverpb_Maintenance.Client<HTTP2ClientTransport.Posix>
    let cluster: Etcdserverpb_Cluster.Client<HTTP2ClientTransport.Posix>
    private let running: Task<Void, any Error>

    /// Client certificate files for a TLS client port: the CA the server's certificate
    /// chains to, and the certificate and key presented.
    struct TLSFiles: Sendable {
        var trustedCA: String
        var certificate: String
        var key: String
    }

    init(port: Int, tls: TLSFiles? = nil) throws {
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if let tls {
            security = .mTLS(
                certificateChain: [.file(path: tls.certificate, format: .pem)], privateKey: .file(path: tls.key, format: .pem)
            ) {
                $0.trustRoots = .certificates([.file(path: tls.trustedCA, format: .pem)])
                $0.serverCertificateVerification = .noHostnameVerification
            }
        } else {
            security = .plaintext
        }
        client = GRPCClient(
            transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: security))
        kv = Etcdserverpb_KV.Client(wrapping: client)
        maintenance = Etcdserverpb_Maintenance.Client(wrapping: client)
        cluster = Etcdserverpb_Cluster.Client(wrapping: client)
        let client = self.client
        running = Task { try await client.runConnections() }
    }

    func close() async {
        client.beginGracefulShutdown()
        _ = try? await running.value
    }

    func put(_ key: String, _ value: String, timeout: Int = 5) async throws -> Etcdserverpb_PutResponse {
        var request = Etcdserverpb_PutRequest()
        request.key = Data(key.utf8)
        request.value = Data(value.utf8)
        return try await kv.put(request, options: .timeout(seconds: timeout))
    }

    func get(_ key: String, rangeEnd: String = "") async throws -> Etcdserverpb_RangeResponse {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key.utf8)
        request.rangeEnd = Data(rangeEnd.utf8)
        return try await kv.range(request, options: .timeout(seconds: 5))
    }
}

extension CallOptions {
    static func timeout(seconds: Int) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = .seconds(seconds)
        return options
    }
}

/// A swetcd process on fresh ports and a temporary data dir that survives restarts.
func makeSwetcd(_ name: String = "swetcd", extraArguments: [String] = []) throws -> ServerProcess {
    let ports = try Ports.free(2)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-it-\(UUID().uuidString)")
    return ServerProcess(
        role: name, binary: try Binaries.swetcd(), directory: directory, clientPort: ports[0], peerPort: ports[1],
        extraArguments: extraArguments)
}

extension ServerProcess {
    /// Starts the process and waits (at most `timeout` seconds) until it serves clients.
    func startAndWait(timeout: TimeInterval = 30) throws {
        try start()
        try waitForLogMilestones(deadline: Date().addingTimeInterval(timeout))
    }

    /// Removes the data dir and logs.
    func removeFiles() {
        try? FileManager.default.removeItem(at: directory)
    }
}
