import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import Synchronization

/// One gRPC connection (HTTP/2 channel) to one endpoint, with a stub per etcd service. The
/// channel reconnects by itself; `everConnected` tells a dial failure from a request failure.
final class Connection: Sendable {
    typealias Transport = HTTP2ClientTransport.Posix

    let endpoint: Endpoint
    let grpc: GRPCClient<Transport>
    let kv: Etcdserverpb_KV.Client<Transport>
    let watch: Etcdserverpb_Watch.Client<Transport>
    let lease: Etcdserverpb_Lease.Client<Transport>
    let cluster: Etcdserverpb_Cluster.Client<Transport>
    let maintenance: Etcdserverpb_Maintenance.Client<Transport>
    let auth: Etcdserverpb_Auth.Client<Transport>
    let lock: V3lockpb_Lock.Client<Transport>
    let election: V3electionpb_Election.Client<Transport>

    private let connected = ConnectedFlag()
    private let runner: Synchronization.Mutex<Task<Void, Never>?>

    /// True once a TCP connection to the endpoint was made.
    var everConnected: Bool { connected.value.load(ordering: .relaxed) }

    init(endpoint: Endpoint, configuration: EtcdClient.Configuration) throws {
        self.endpoint = endpoint
        let flag = connected

        var transportConfig = Transport.Config.defaults
        transportConfig.backoff = .init(initial: .milliseconds(100), max: .seconds(2), multiplier: 1.6, jitter: 0.2)
        transportConfig.connection.keepalive = .init(
            time: configuration.keepAliveTime, timeout: configuration.keepAliveTimeout, allowWithoutCalls: true)
        transportConfig.connection.maxIdleTime = nil
        // Called when the socket is made (before it connects, with its TLS and HTTP/2
        // handlers in place): watch for it becoming active.
        transportConfig.channelDebuggingCallbacks.onCreateTCPConnection = { channel in
            channel.pipeline.addHandler(ConnectedHandler(flag: flag), position: .first).flatMap {
                // The real etcd's routine resets and pings would otherwise trip swift-nio-http2's
                // flood limits and close a busy connection.
                HTTP2ChatterFilter.install(on: channel)
            }
        }
        if let name = configuration.tls?.serverName, !name.isEmpty {
            transportConfig.http2.authority = name
        }

        let transport = try Transport(
            target: Self.target(for: endpoint),
            transportSecurity: Self.security(for: endpoint, configuration.tls),
            config: transportConfig)
        grpc = GRPCClient(transport: transport)
        kv = Etcdserverpb_KV.Client(wrapping: grpc)
        watch = Etcdserverpb_Watch.Client(wrapping: grpc)
        lease = Etcdserverpb_Lease.Client(wrapping: grpc)
        cluster = Etcdserverpb_Cluster.Client(wrapping: grpc)
        maintenance = Etcdserverpb_Maintenance.Client(wrapping: grpc)
        auth = Etcdserverpb_Auth.Client(wrapping: grpc)
        lock = V3lockpb_Lock.Client(wrapping: grpc)
        election = V3electionpb_Election.Client(wrapping: grpc)
        let client = grpc
        runner = Synchronization.Mutex(Task { try? await client.runConnections() })
    }

    /// Closes the channel: running calls finish, new ones fail.
    func close() async {
        grpc.beginGracefulShutdown()
        let task = runner.withLock { $0 }
        // Streams (watches, keep-alives) the caller forgot would hold the shutdown open.
        let timeout = Task {
            try? await Task.sleep(for: .seconds(2))
            task?.cancel()
        }
        await task?.value
        timeout.cancel()
    }

    private static func target(for endpoint: Endpoint) -> any ResolvableTarget {
        if let path = endpoint.unixPath { return .unixDomainSocket(path: path) }
        let host = endpoint.host
        if host.split(separator: ".").count == 4, host.allSatisfy({ $0.isNumber || $0 == "." }) {
            return .ipv4(address: host, port: endpoint.port)
        }
        if host.contains(":") { return .ipv6(address: host, port: endpoint.port) }
        return .dns(host: host, port: endpoint.port)
    }

    private static func security(
        for endpoint: Endpoint, _ tls: EtcdClient.Configuration.TLS?
    ) -> Transport.TransportSecurity {
        guard endpoint.secure || tls != nil else { return .plaintext }
        let settings = tls ?? .init()
        return .tls { config in
            if let ca = settings.trustedCAFile, !ca.isEmpty {
                config.trustRoots = .certificates([.file(path: ca, format: .pem)])
            }
            if let cert = settings.certificateFile, !cert.isEmpty {
                config.certificateChain = [.file(path: cert, format: .pem)]
            }
            if let key = settings.keyFile, !key.isEmpty {
                config.privateKey = .file(path: key, format: .pem)
            }
            config.serverCertificateVerification = settings.insecureSkipVerify ? .noVerification : .fullVerification
        }
    }
}

/// Set from the NIO event loop when a TCP connection is made.
private final class ConnectedFlag: Sendable {
    let value = Atomic(false)
    func set() { value.store(true, ordering: .relaxed) }
}

/// Marks the connection established once its channel becomes active.
private final class ConnectedHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    let flag: ConnectedFlag
    init(flag: ConnectedFlag) { self.flag = flag }

    func channelActive(context: ChannelHandlerContext) {
        flag.set()
        context.fireChannelActive()
    }
}
