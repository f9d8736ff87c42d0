import NIOCore
import NIOHTTP1

/// Serves the HTTP/1.1 side of a client connection: collects each request, hands it to the
/// router, writes the response. Requests are answered in order (keep-alive pipelining is
/// sequenced by NIO's HTTPServerPipelineHandler in front of it).
final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: HTTPRouter
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    /// Largest request body accepted; etcd's gateway has the same limit as gRPC requests.
    private let maxBodyBytes: Int

    init(router: HTTPRouter, maxBodyBytes: Int) {
        self.router = router
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > maxBodyBytes {
                respond(context: context, .text("request body too large\n", status: .payloadTooLarge), keepAlive: false)
                head = nil
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            self.head = nil
            let request = HTTPRequest(head: head, body: body)
            let keepAlive = head.isKeepAlive
            let promise = context.eventLoop.makePromise(of: HTTPResponse.self)
            let router = self.router
            promise.completeWithTask { await router.respond(to: request) }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (handler, context) = loopBound.value
                handler.respond(context: context, response, keepAlive: keepAlive)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed request: answer like Go's HTTP server does, then close.
        respond(context: context, .text("400 Bad Request", status: .badRequest), keepAlive: false)
    }

    private func respond(context: ChannelHandlerContext, _ response: HTTPResponse, keepAlive: Bool) {
        guard context.channel.isActive else { return }
        var headers = response.headers
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
