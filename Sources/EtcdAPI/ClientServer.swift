import EtcdServer
import LeanGRPC
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves a member's client API — gRPC and the HTTP endpoints — on every
/// `--listen-client-urls` address until cancelled.
public struct ClientServer: Sendable {
    let server: EtcdServer
    let logger: Logger
    let eventLoopGroup: MultiThreadedEventLoopGroup
    let router: HTTPRouter
    let routes: GRPCRoutes

    /// `metrics` renders the process' metrics for `/metrics` (Prometheus text format).
    public init(
        server: EtcdServer, logger: Logger, metrics: (@Sendable () -> String)? = nil,
        eventLoopGroup: MultiThreadedEventLoopGroup = .singletonMultiThreadedEventLoopGroup
    ) {
        self.server = server
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        router = HTTPRouter(server: server, metrics: metrics)
        routes = Self.routes(for: server)
    }

    /// Every gRPC method of etcd's client API that swetcd serves.
    static func routes(for server: EtcdServer) -> GRPCRoutes {
        var routes = GRPCRoutes()
        KVService.register(server, in: &routes)
        WatchService.register(server, in: &routes)
        LeaseService.register(server, in: &routes)
        LockService.register(server, in: &routes)
        ElectionService.register(server, in: &routes)
        MaintenanceService.register(server, in: &routes)
        ClusterService.register(server, in: &routes)
        return routes
    }

    /// Binds every listen URL, logs etcd's readiness milestone, then serves until the task is
    /// cancelled or a listener fails.
    public func run(onReady: @escaping @Sendable () -> Void = {}) async throws {
        let config = server.config
        let limits = HTTPLimits(maxMessageBytes: config.maxReceivedMessageBytes)
        let connections = OpenConnections()
        var listeners: [any Channel] = []
        do {
            for url in config.listenClientURLs {
                listeners.append(
                    try await bind(
                        host: url.host, port: url.port, grpc: true, http: config.listenClientHTTPURLs.isEmpty,
                        limits: limits, connections: connections))
                logger.info("serving client traffic insecurely; this is strongly discouraged!", metadata: ["address": "\(url.hostPort)"])
            }
            for url in config.listenClientHTTPURLs {
                listeners.append(
                    try await bind(
                        host: url.host, port: url.port, grpc: false, http: true,
                        limits: limits, connections: connections))
                logger.info("serving HTTP client traffic", metadata: ["address": "\(url.hostPort)"])
            }
        } catch {
            for listener in listeners { listener.close(promise: nil) }
            throw ConfigError("could not listen on client URLs: \(error)")
        }
        logger.info("ready to serve client requests")
        onReady()
        let bound = listeners
        try await withTaskCancellationHandler {
            try await withThrowingDiscardingTaskGroup { group in
                for listener in bound {
                    group.addTask { try await listener.closeFuture.get() }
                }
            }
        } onCancel: {
            for listener in bound { listener.close(promise: nil) }
            connections.closeAll()
        }
    }

    private func bind(
        host: String, port: Int, grpc: Bool, http: Bool, limits: HTTPLimits, connections: OpenConnections
    ) async throws -> any Channel {
        let router = self.router
        let routes = self.routes
        let server = self.server
        let maxConcurrentStreams = server.config.maxConcurrentStreams
        let refusal: @Sendable () -> GRPCStatus? = { server.leader == 0 ? GRPCStatus(EtcdError.noLeader) : nil }
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    connections.add(channel)
                    let makeGRPC: () -> [any ChannelHandler] = {
                        GRPCServerConnection.handlers(
                            on: channel, routes: routes, maxMessageBytes: limits.maxMessageBytes,
                            maxConcurrentStreams: maxConcurrentStreams, refusesLeaderRequiringCalls: refusal)
                    }
                    let makeHTTP: () -> [any ChannelHandler] = {
                        [
                            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)),
                            HTTPResponseEncoder(),
                            HTTPServerPipelineHandler(),
                            HTTPConnectionHandler(limits: limits, answer: router.respond),
                        ]
                    }
                    let handlers: [any ChannelHandler]
                    switch (grpc, http) {
                    case (true, true):
                        handlers = [
                            ProtocolSniffer(timeout: limits.idleTimeout, makeHTTP2Handlers: makeGRPC, makeHTTP1Handlers: makeHTTP)
                        ]
                    case (true, false): handlers = makeGRPC()
                    case (false, _): handlers = makeHTTP()
                    }
                    try channel.pipeline.syncOperations.addHandlers(handlers)
                }
            }
            .bind(host: host == "localhost" ? "127.0.0.1" : host, port: port).get()
    }
}
