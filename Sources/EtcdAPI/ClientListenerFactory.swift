import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import NIOHTTP1
import NIOPosix

/// Accepts client connections on one address and serves gRPC and HTTP/1.1 on it, telling
/// them apart by the first bytes of each connection (see `ProtocolSniffer`).
struct ClientListenerFactory: HTTP2ServerTransport.ListenerFactory {
    let host: String
    let port: Int
    let eventLoopGroup: any EventLoopGroup
    let router: HTTPRouter
    let maxHTTPBodyBytes: Int
    /// Whether HTTP/1.1 is served next to gRPC (etcd stops doing so when
    /// `--listen-client-http-urls` moves it to its own addresses).
    let servesHTTP: Bool

    func makeListeningChannel(
        listenerConfigurator: HTTP2ServerTransport.ListenerConfigurator,
        connectionConfigurator: HTTP2ServerTransport.ConnectionConfigurator
    ) async throws -> NIOAsyncChannel<HTTP2ServerTransport.ConnectionConfigurator.ConnectionChannel, Never> {
        let router = self.router
        let maxBody = maxHTTPBodyBytes
        let servesHTTP = self.servesHTTP
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in listenerConfigurator.configure(channel: channel) }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host == "localhost" ? "127.0.0.1" : host, port: port) { channel in
                connectionConfigurator.configure(channel: channel, tls: .none).flatMapThrowing { connection in
                    guard servesHTTP else { return connection }
                    let gate = GRPCGate()
                    let sniffer = ProtocolSniffer(gate: gate) {
                        [
                            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)),
                            HTTPResponseEncoder(),
                            HTTPServerPipelineHandler(),
                            HTTPConnectionHandler(router: router, maxBodyBytes: maxBody),
                        ]
                    }
                    try channel.pipeline.syncOperations.addHandler(gate, position: .first)
                    try channel.pipeline.syncOperations.addHandler(sniffer, position: .first)
                    return connection
                }
            }
    }
}
