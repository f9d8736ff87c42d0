import NIOCore
import NIOHTTP1

/// Serves the HTTP/1.1 side of a client connection: collects each request, hands it to the
/// router, writes the response — whole, or streamed piece by piece until the stream ends or
/// the client goes away. Requests are answered in order (NIO's HTTPServerPipelineHandler in
/// front of it holds back pipelined requests).
final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: HTTPRouter
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var bodyTooLarge = false
    /// Largest request body accepted; etcd's gateway has the same limit as gRPC requests.
    private let maxBodyBytes: Int
    /// The request being answered (its streaming body, if any), cancelled if the client leaves.
    private var running: Task<Void, Never>?
    private var context: ChannelHandlerContext?

    /// CORS headers etcd puts on every HTTP response of its client port.
    static let corsHeaders = [
        ("Access-Control-Allow-Headers", "accept, content-type, authorization"),
        ("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE"),
        ("Access-Control-Allow-Origin", "*"),
    ]

    init(router: HTTPRouter, maxBodyBytes: Int) {
        self.router = router
        self.maxBodyBytes = maxBodyBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            bodyTooLarge = false
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > maxBodyBytes { bodyTooLarge = true }
            if !bodyTooLarge { body.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            if bodyTooLarge {
                respond(context: context, .text("request body too large\n", status: .payloadTooLarge), keepAlive: false)
                return
            }
            dispatch(HTTPRequest(head: head, body: body), context: context)
        }
    }

    private func dispatch(_ request: HTTPRequest, context: ChannelHandlerContext) {
        let keepAlive = request.head.isKeepAlive
        let router = self.router
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        running = Self.start(request, router: router, keepAlive: keepAlive, loopBound: loopBound, eventLoop: eventLoop)
    }

    private static func start(
        _ request: HTTPRequest, router: HTTPRouter, keepAlive: Bool,
        loopBound: NIOLoopBound<HTTPConnectionHandler>, eventLoop: any EventLoop
    ) -> Task<Void, Never> {
        Task {
            await serve(request, router: router, keepAlive: keepAlive, loopBound: loopBound, eventLoop: eventLoop)
        }
    }

    private static func serve(
        _ request: HTTPRequest, router: HTTPRouter, keepAlive: Bool,
        loopBound: NIOLoopBound<HTTPConnectionHandler>, eventLoop: any EventLoop
    ) async {
        switch await router.respond(to: request) {
        case .complete(let response):
            eventLoop.execute {
                let handler = loopBound.value
            guard let context = handler.context else { return }
            handler.respond(context: context, response, keepAlive: keepAlive)
            }
        case .stream(let streaming):
            await stream(streaming, loopBound: loopBound, eventLoop: eventLoop)
        }
    }

    /// Writes a streamed response: the head, then each piece as a chunk, then the end.
    private static func stream(
        _ streaming: HTTPStreamingResponse, loopBound: NIOLoopBound<HTTPConnectionHandler>, eventLoop: any EventLoop
    ) async {
        var headers = streaming.headers
        for (name, value) in corsHeaders { headers.replaceOrAdd(name: name, value: value) }
        let head = HTTPResponseHead(version: .http1_1, status: streaming.status, headers: headers)
        do {
            try await write(.head(head), loopBound: loopBound, eventLoop: eventLoop)
            let writer = HTTPBodyWriter { text in
                try await write(.body(.byteBuffer(ByteBuffer(string: text))), loopBound: loopBound, eventLoop: eventLoop)
            }
            try await streaming.produce(writer)
            try await write(.end(nil), loopBound: loopBound, eventLoop: eventLoop)
        } catch {
            // The client went away, or the stream failed after the head was sent: close.
            eventLoop.execute { loopBound.value.context?.close(promise: nil) }
        }
    }

    /// Writes and flushes one response part from outside the event loop; returns once the
    /// connection took it.
    private static func write(
        _ part: HTTPServerResponsePart, loopBound: NIOLoopBound<HTTPConnectionHandler>, eventLoop: any EventLoop
    ) async throws {
        try await eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            guard let context = loopBound.value.context, context.channel.isActive else {
                return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
            }
            return context.writeAndFlush(NIOAny(part))
        }.get()
    }

    func channelInactive(context: ChannelHandlerContext) {
        running?.cancel()
        running = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed request: answer like Go's HTTP server does, then close.
        respond(context: context, .text("400 Bad Request", status: .badRequest), keepAlive: false)
    }

    private func respond(context: ChannelHandlerContext, _ response: HTTPResponse, keepAlive: Bool) {
        guard context.channel.isActive else { return }
        var headers = response.headers
        for (name, value) in Self.corsHeaders { headers.replaceOrAdd(name: name, value: value) }
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
