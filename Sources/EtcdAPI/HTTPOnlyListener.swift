import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1-only listener (etcd's `--listen-client-http-urls`): the same endpoints as the
/// client port's HTTP side, without gRPC.
struct HTTPOnlyListener: Sendable {
    let host: String
    let port: Int
    let eventLoopGroup: any EventLoopGroup
    let router: HTTPRouter
    let maxBodyBytes: Int

    /// Binds and serves until the task is cancelled.
    func run(onBound: @Sendable () -> Void) async throws {
        let router = self.router
        let maxBody = maxBodyBytes
        let channel = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HTTPConnectionHandler(router: router, maxBodyBytes: maxBody))
                }
            }
            .bind(host: host, port: port).get()
        onBound()
        try await withTaskCancellationHandler {
            try await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}
