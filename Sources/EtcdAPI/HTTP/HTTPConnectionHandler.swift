import NIOCore
import NIOHTTP1

/// Serves the HTTP/1.1 side of a client connection: collects each request, hands it to the
/// router, writes the response — whole, or streamed piece by piece until the stream ends or
/// the client goes away. Requests are answered in order (NIO's HTTPServerPipelineHandler in
/// front of it holds back pipelined requests). `HTTPLimits` bound the body and the time a
/// client may take to send a request or leave the connection idle.
final class HTTPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Where the connection is in its request/response cycle; decides which timeout runs.
    private enum Phase {
        /// Waiting for the next request: `idleTimeout`.
        case idle
        /// Receiving a request: `requestTimeout`, from its first byte.
        case reading
        /// Answering (or refusing) a request: no timeout, a watch may stream for hours.
        case answering
    }

    /// Answers a complete request (the router's `respond(to:)`).
    private let answer: @Sendable (HTTPRequest) async -> HTTPReply
    private let limits: HTTPLimits
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var phase = Phase.idle
    private var deadline: Scheduled<Void>?
    /// A request was refused unread; nothing more is read before the connection closes.
    private var refused = false
    /// The request being answered (its streaming body, if any), cancelled if the client leaves.
    private var running: Task<Void, Never>?
    private var context: ChannelHandlerContext?

    /// CORS headers etcd puts on every HTTP response of its client port.
    static let corsHeaders = [
        ("Access-Control-Allow-Headers", "accept, content-type, authorization"),
        ("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE"),
        ("Access-Control-Allow-Origin", "*"),
    ]

    init(limits: HTTPLimits, answer: @escaping @Sendable (HTTPRequest) async -> HTTPReply) {
        self.answer = answer
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { enter(.idle, context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        enter(.idle, context: context)
        context.fireChannelActive()
    }

    /// Bytes arrived, maybe only part of a request head: the request's clock starts.
    func channelReadComplete(context: ChannelHandlerContext) {
        if phase == .idle { enter(.reading, context: context) }
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // NIO's pipeline handler passes a pipelined request on only once the previous
            // response ended, so a head always starts a request.
            guard !refused else { return }
            if phase != .reading { enter(.reading, context: context) }
            self.head = head
            body.clear()
            if let declared = head.headers.first(name: "content-length").flatMap(Int.init), declared > limits.maxBodyBytes {
                refuse(limits.tooLarge(declared), context: context)
            }
        case .body(var chunk):
            guard phase == .reading else { return }
            let size = body.readableBytes + chunk.readableBytes
            guard size <= limits.maxBodyBytes else { return refuse(limits.tooLarge(size), context: context) }
            body.writeBuffer(&chunk)
        case .end:
            guard phase == .reading, let head else { return }
            self.head = nil
            enter(.answering, context: context)
            dispatch(HTTPRequest(head: head, body: body), context: context)
        }
    }

    /// Answers a request that is not read to its end, and closes the connection (the rest
    /// of the request would otherwise have to be read and thrown away).
    private func refuse(_ response: HTTPResponse, context: ChannelHandlerContext) {
        refused = true
        head = nil
        body = ByteBuffer()
        enter(.answering, context: context)
        respond(context: context, response, keepAlive: false)
    }

    /// Moves to `phase` and arms its timeout; an expired timeout closes the connection, as
    /// Go's server does on a read or idle timeout.
    private func enter(_ phase: Phase, context: ChannelHandlerContext) {
        self.phase = phase
        deadline?.cancel()
        let timeout: TimeAmount
        switch phase {
        case .idle: timeout = limits.idleTimeout
        case .reading: timeout = limits.requestTimeout
        case .answering:
            deadline = nil
            return
        }
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    /// The response is out: the connection waits for the next request.
    private func responseFinished() {
        guard let context, phase == .answering else { return }
        enter(.idle, context: context)
    }

    private func dispatch(_ request: HTTPRequest, context: ChannelHandlerContext) {
        let keepAlive = request.head.isKeepAlive
        let answer = self.answer
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        running = Self.start(request, answer: answer, keepAlive: keepAlive, loopBound: loopBound, eventLoop: eventLoop)
    }

    private static func start(
        _ request: HTTPRequest, answer: @escaping @Sendable (HTTPRequest) async -> HTTPReply, keepAlive: Bool,
        loopBound: NIOLoopBound<HTTPConnectionHandler>, eventLoop: any EventLoop
    ) -> Task<Void, Never> {
        Task {
            await serve(request, answer: answer, keepAlive: keepAlive, loopBound: loopBound, eventLoop: eventLoop)
        }
    }

    private static func serve(
        _ request: HTTPRequest, answer: @escaping @Sendable (HTTPRequest) async -> HTTPReply, keepAlive: Bool,
        loopBound: NIOLoopBound<HTTPConnectionHandler>, eventLoop: any EventLoop
    ) async {
        switch await answer(request) {
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
            eventLoop.execute { loopBound.value.responseFinished() }
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
        deadline?.cancel()
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
        if keepAlive {
            responseFinished()
        } else {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
