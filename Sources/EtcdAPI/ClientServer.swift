import EtcdServer
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import NIOCore
import NIOPosix

/// Serves a member's client API — gRPC and the HTTP endpoints — on every
/// `--listen-client-urls` address until cancelled.
public struct ClientServer: Sendable {
    let server: EtcdServer
    let logger: Logger
    let eventLoopGroup: MultiThreadedEventLoopGroup
    let router: HTTPRouter

    /// `metrics` renders the process' metrics for `/metrics` (Prometheus text format).
    public init(
        server: EtcdServer, logger: Logger, metrics: (@Sendable () -> String)? = nil,
        eventLoopGroup: MultiThreadedEventLoopGroup = .singletonMultiThreadedEventLoopGroup
    ) {
        self.server = server
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        router = HTTPRouter(server: server, metrics: metrics)
    }

    /// Binds every listen URL, logs etcd's readiness milestone, then serves until the task is
    /// cancelled or a listener fails.
    public func run(onReady: @escaping @Sendable () -> Void = {}) async throws {
        let config = server.config
        var transportConfig = HTTP2ServerTransport.Custom<ClientListenerFactory>.Config.defaults
        // Like etcd: a request may be max-request-bytes plus gRPC's own overhead (512 KiB).
        transportConfig.rpc.maxRequestPayloadSize = config.maxRequestBytes + 512 * 1024
        // etcd's keepalive enforcement: pings without active calls at most every 5 s.
        transportConfig.connection.keepalive.clientBehavior.minPingIntervalWithoutCalls = .seconds(5)

        let services: [any RegistrableRPCService] = [
            KVService(server: server),
            WatchService(server: server),
            LeaseService(server: server),
            LockService(server: server),
            ElectionService(server: server),
            MaintenanceService(server: server),
            ClusterService(server: server),
        ]
        let transports = config.listenClientURLs.map { url in
            HTTP2ServerTransport.Custom(
                listenerFactory: ClientListenerFactory(
                    host: url.host, port: url.port, eventLoopGroup: eventLoopGroup, router: router,
                    maxHTTPBodyBytes: config.maxRequestBytes + 512 * 1024, servesHTTP: config.listenClientHTTPURLs.isEmpty),
                config: transportConfig)
        }
        try await withThrowingDiscardingTaskGroup { group in
            for transport in transports {
                group.addTask {
                    try await GRPCServer(
                        transport: transport, services: services, interceptors: [LeaderRequirement(server: server)]
                    ).serve()
                }
            }
            for url in config.listenClientHTTPURLs {
                let listener = HTTPOnlyListener(
                    host: url.host, port: url.port, eventLoopGroup: eventLoopGroup, router: router,
                    maxBodyBytes: config.maxRequestBytes + 512 * 1024)
                group.addTask {
                    try await listener.run {
                        logger.info("serving HTTP client traffic", metadata: ["address": "\(url.hostPort)"])
                    }
                }
            }
            for (url, transport) in zip(config.listenClientURLs, transports) {
                guard let address = await transport.listeningAddress else {
                    throw ConfigError("could not listen on \(url.text)")
                }
                _ = address
                logger.info("serving client traffic insecurely; this is strongly discouraged!", metadata: ["address": "\(url.hostPort)"])
            }
            logger.info("ready to serve client requests")
            onReady()
        }
    }
}
