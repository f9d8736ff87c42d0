import EtcdServer
import EtcdTLS
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
        router = HTTPRouter(server: server, metrics: metrics, logger: logger)
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
        AuthService.register(server, in: &routes)
        HealthService.register(in: &routes)
        return routes
    }

    /// Waits until the member is ready (published to the cluster, as etcd does), then serves
    /// the already listening `listeners` until the task is cancelled or a listener fails.
    public func run(on listeners: ClientListeners, onReady: @escaping @Sendable () -> Void = {}) async throws {
        let limits = HTTPLimits(maxMessageBytes: server.config.maxReceivedMessageBytes)
        let connections = OpenConnections()
        var serving: [any Channel] = []
        do {
            try await server.waitUntilReady()
            for socket in listeners.sockets {
                let tls = listeners.tls(for: socket)
                serving.append(try await serve(socket, tls: tls, limits: limits, connections: connections))
                if socket.metricsOnly {
                    logger.info("serving metrics", metadata: ["address": "\(socket.url.text)"])
                } else if tls != nil {
                    logger.info("serving client traffic securely", metadata: ["address": "\(socket.url.hostPort)"])
                } else if socket.grpc {
                    logger.info("serving client traffic insecurely; this is strongly discouraged!", metadata: ["address": "\(socket.url.hostPort)"])
                } else {
                    logger.info("serving HTTP client traffic", metadata: ["address": "\(socket.url.hostPort)"])
                }
            }
        } catch {
            for channel in serving { channel.close(promise: nil) }
            listeners.closeAll(after: serving.count)
            throw error
        }
        logger.info("ready to serve client requests")
        onReady()
        let bound = serving
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

    private func serve(
        _ socket: ClientListeners.Socket, tls: ReloadingTLSContext?, limits: HTTPLimits, connections: OpenConnections
    ) async throws -> any Channel {
        let (grpc, http) = (socket.grpc, socket.http)
        let logger = self.logger
        var socketRouter = self.router
        socketRouter.metricsOnly = socket.metricsOnly
        let router = socketRouter
        let routes = self.routes
        let server = self.server
        let maxConcurrentStreams = server.config.maxConcurrentStreams
        let refusal: @Sendable () -> GRPCStatus? = { server.leader == 0 ? GRPCStatus(EtcdError.noLeader) : nil }
        return try await ServerBootstrap(group: eventLoopGroup)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    connections.add(channel)
                    let makeGRPC: () -> [any ChannelHandler] = {
                        GRPCServerConnection.handlers(
                            on: channel, routes: routes, maxMessageBytes: limits.maxMessageBytes,
                            maxConcurrentStreams: maxConcurrentStreams, refusesLeaderRequiringCalls: refusal,
                            identify: { ClientCertificateName.of($0) })
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
                    // Under TLS the same handlers see the decrypted bytes: the sniffer tells
                    // gRPC from HTTP/1.1 whatever ALPN chose.
                    let secure = tls?.serverHandlers(endpoint: socket.metricsOnly ? "metrics" : "client", logger: logger) ?? []
                    try channel.pipeline.syncOperations.addHandlers(secure + handlers)
                }
            }
            .withBoundSocket(socket.descriptor).get()
    }
}
