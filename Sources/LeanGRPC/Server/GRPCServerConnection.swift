import NIOCore
import NIOHPACK
import NIOHTTP2

/// A gRPC server on raw HTTP/2 frames: it sits after `NIOHTTP2Handler` (framing, HPACK,
/// the protocol state machine) and keeps a table of calls by stream id. There are no
/// stream channels and no per-call pipelines: a unary call is one task that runs its
/// handler, and its answer goes out as HEADERS, DATA and trailers in one flush per
/// event-loop tick. Streaming calls get their request messages through an async stream and
/// write responses back through the event loop.
///
/// It manages inbound flow control itself (large windows, credit returned as data arrives)
/// and answers every failure it detects before a handler runs as grpc-go would.
public final class GRPCServerConnection: ChannelInboundHandler {
    public typealias InboundIn = HTTP2Frame
    public typealias OutboundOut = HTTP2Frame

    /// Stream window advertised in SETTINGS; credit returned when half is used.
    static let streamWindow = 1 << 24
    /// Connection window granted after the client's SETTINGS; topped up when half is used.
    static let connectionWindow = 1 << 30

    private let eventLoop: any EventLoop
    private let routes: GRPCRoutes
    private let maxMessageBytes: Int
    /// Whether calls that ask for a leader (etcd's `hasleader` metadata) are refused now.
    private let refusesLeaderRequiringCalls: @Sendable () -> GRPCStatus?
    /// Asked before every call starts; a status it returns refuses the call.
    private let admit: @Sendable (GRPCCallHead) -> GRPCStatus?
    /// Finds the caller's identity (its TLS certificate) once, at the first call: after any handshake.
    private let identify: (@Sendable (any Channel) -> String?)?
    private var identity: String??
    private var calls: [HTTP2StreamID: Call] = [:]
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    private var connectionWindowWidened = false

    private static let responseHeaders: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]

    /// `refusesLeaderRequiringCalls` is asked for every call that carries etcd's
    /// `hasleader: true` metadata; a status it returns refuses the call. `admit` is asked
    /// for every call (its path and metadata) before it starts, and refuses it the same way.
    public init(
        eventLoop: any EventLoop, routes: GRPCRoutes, maxMessageBytes: Int,
        refusesLeaderRequiringCalls: @escaping @Sendable () -> GRPCStatus?,
        admit: @escaping @Sendable (GRPCCallHead) -> GRPCStatus? = { _ in nil },
        identify: (@Sendable (any Channel) -> String?)? = nil
    ) {
        self.identify = identify
        self.eventLoop = eventLoop
        self.routes = routes
        self.maxMessageBytes = maxMessageBytes
        self.refusesLeaderRequiringCalls = refusesLeaderRequiringCalls
        self.admit = admit
    }

    // MARK: Channel events

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelAll()
        self.context = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        cancelAll()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let id = frame.streamID
        switch frame.payload {
        case .headers(let payload):
            if let call = calls[id] {
                // Trailers from the client: nothing in them matters but the end of the stream.
                if payload.endStream { clientFinished(call, id: id) }
            } else {
                open(id, headers: payload.headers, endStream: payload.endStream)
            }
        case .data(let payload):
            guard case .byteBuffer(let bytes) = payload.data else { return }
            acknowledge(bytes.readableBytes + (payload.paddingBytes.map { $0 + 1 } ?? 0), on: id)
            guard let call = calls[id] else { return }
            receive(bytes, for: call, id: id)
            if payload.endStream, calls[id] === call { clientFinished(call, id: id) }
        case .rstStream:
            cancel(id)
        case .settings(.settings):
            widenConnectionWindow()
        default:
            break
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent { cancel(closed.streamID) }
        if let update = event as? NIOHTTP2WindowUpdatedEvent, update.streamID == .rootStream,
            let inbound = update.inboundWindowSize
        {
            replenishConnectionWindow(from: inbound)
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream error has already reset its stream (a StreamClosedEvent follows); anything
        // else breaks the connection.
        if error is NIOHTTP2Errors.StreamError { return }
        cancelAll()
        context.close(promise: nil)
    }

    // MARK: Calls

    private func open(_ id: HTTP2StreamID, headers: HPACKHeaders, endStream: Bool) {
        if let contentType = headers.first(name: "content-type"), !contentType.hasPrefix("application/grpc") {
            write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: [":status": "415"], endStream: true))))
            return
        }
        if let encoding = headers.first(name: "grpc-encoding"), encoding != "identity" {
            answer(id, .unsupportedEncoding(encoding))
            return
        }
        let handler: GRPCRoutes.Handler
        let path = headers.first(name: ":path") ?? ""
        switch routes.handler(for: path) {
        case .success(let found): handler = found
        case .failure(let status):
            answer(id, status)
            return
        }
        let needsLeader = headers[canonicalForm: "hasleader"].contains("true")
        let head = GRPCCallHead(path: path, headers: headers, connectionIdentity: connectionIdentity())
        if let refusal = (needsLeader ? refusesLeaderRequiringCalls() : nil) ?? admit(head) {
            answer(id, refusal)
            return
        }
        let call = Call(handler: handler, head: head, maxMessageBytes: maxMessageBytes)
        calls[id] = call
        if case .streaming(let body) = handler { start(body, for: call, id: id) }
        if endStream { clientFinished(call, id: id) }
    }

    private func receive(_ bytes: ByteBuffer, for call: Call, id: HTTP2StreamID) {
        var refusal: GRPCStatus?
        do {
            try call.reader.read(bytes) { message in
                switch call.handler {
                case .unary, .unaryCompleting:
                    call.requestCount += 1
                    if call.requestCount == 1 { call.request = message }
                case .streaming:
                    call.requests?.yield(message)
                case .clientStreamingOnLoop(let handle, _):
                    guard refusal == nil else { return }
                    do {
                        try handle(message)
                    } catch {
                        refusal = GRPCStatus(error)
                    }
                }
            }
            if let refusal { finish(id, refusal) }
        } catch {
            switch error {
            case .compressed: finish(id, .compressedWithoutEncoding)
            case .tooLarge(let length, let limit): finish(id, .messageTooLarge(length, limit: limit))
            }
        }
    }

    private func clientFinished(_ call: Call, id: HTTP2StreamID) {
        call.clientDone = true
        switch call.handler {
        case .unary(let body):
            guard let request = takeRequest(of: call, id: id) else { return }
            run(body, request: request, for: call, id: id)
        case .unaryCompleting(let body):
            guard let request = takeRequest(of: call, id: id) else { return }
            let loop = eventLoop
            let connection = NIOLoopBound(self, eventLoop: loop)
            body(request, call.head, loop) { result in
                if loop.inEventLoop {
                    connection.value.respond(id, result)
                } else {
                    loop.execute { connection.value.respond(id, result) }
                }
            }
        case .streaming:
            call.requests?.finish()
        case .clientStreamingOnLoop(_, let response):
            guard !call.reader.hasPartialMessage else { return finish(id, .missingRequest) }
            respond(id, .success(response))
        }
    }

    /// The one request message of a unary call, or nil after answering the call's failure.
    private func takeRequest(of call: Call, id: HTTP2StreamID) -> ByteBuffer? {
        guard call.requestCount <= 1 else {
            finish(id, .tooManyRequests)
            return nil
        }
        guard let request = call.request, !call.reader.hasPartialMessage else {
            finish(id, .missingRequest)
            return nil
        }
        call.request = nil
        return request
    }

    private func run(
        _ body: @escaping @Sendable (ByteBuffer, GRPCCallHead) async throws -> ByteBuffer, request: ByteBuffer, for call: Call, id: HTTP2StreamID
    ) {
        let (loop, head) = (eventLoop, call.head)
        let connection = NIOLoopBound(self, eventLoop: loop)
        call.task = Task {
            let result: Result<ByteBuffer, GRPCStatus>
            do {
                result = .success(try await body(request, head))
            } catch {
                result = .failure(GRPCStatus(error))
            }
            loop.execute { connection.value.respond(id, result) }
        }
    }

    private func start(_ body: @escaping @Sendable (GRPCServerStream) async throws -> Void, for call: Call, id: HTTP2StreamID) {
        let loop = eventLoop
        let connection = NIOLoopBound(self, eventLoop: loop)
        let (requests, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
        call.requests = continuation
        let unwritten = UnwrittenCount()
        let stream = GRPCServerStream(
            requests: requests,
            send: { framed in
                loop.flatSubmit {
                    let written = connection.value.send(framed, on: id)
                    written.whenComplete { _ in unwritten.subtract(framed.count) }
                    return written
                }
            },
            unwritten: unwritten, head: call.head)
        call.task = Task {
            let status: GRPCStatus
            do {
                try await body(stream)
                status = .ok
            } catch {
                status = GRPCStatus(error)
            }
            loop.execute { connection.value.finish(id, status) }
        }
    }

    private func connectionIdentity() -> String? {
        if identity == nil { identity = .some(context.flatMap { identify?($0.channel) }) }
        return identity ?? nil
    }

    // MARK: Responses

    private func respond(_ id: HTTP2StreamID, _ result: Result<ByteBuffer, GRPCStatus>) {
        switch result {
        case .success(let framed):
            guard let call = calls[id] else { return }
            sendHeadersIfNeeded(call, id: id)
            write(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(framed)))))
            finish(id, .ok)
        case .failure(let status):
            finish(id, status)
        }
    }

    /// Writes response messages of a streaming call; the future completes once they are
    /// written.
    private func send(_ messages: [ByteBuffer], on id: HTTP2StreamID) -> EventLoopFuture<Void> {
        guard let context, let call = calls[id] else { return eventLoop.makeFailedFuture(CancellationError()) }
        sendHeadersIfNeeded(call, id: id)
        // One DATA frame for all of them (HTTP/2 splits it to the peer's frame size): far
        // less work per message than a frame each when a watch fans out.
        var payload: ByteBuffer
        if messages.count == 1 {
            payload = messages[0]
        } else {
            payload = context.channel.allocator.buffer(capacity: messages.reduce(0) { $0 + $1.readableBytes })
            for framed in messages { payload.writeImmutableBuffer(framed) }
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(.init(data: .byteBuffer(payload))))), promise: promise)
        scheduleFlush()
        return promise.futureResult
    }

    private func sendHeadersIfNeeded(_ call: Call, id: HTTP2StreamID) {
        guard !call.headersSent else { return }
        call.headersSent = true
        write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: Self.responseHeaders))))
    }

    /// Ends call `id` with `status`: trailers (or a trailers-only response), and a reset if
    /// the client is still sending, so it stops.
    private func finish(_ id: HTTP2StreamID, _ status: GRPCStatus) {
        guard let call = calls.removeValue(forKey: id) else { return }
        call.requests?.finish(throwing: CancellationError())
        call.task?.cancel()
        writeStatus(id, status, headersSent: call.headersSent)
        if !call.clientDone {
            write(HTTP2Frame(streamID: id, payload: .rstStream(.noError)))
        }
    }

    /// Refuses a stream before any handler runs.
    private func answer(_ id: HTTP2StreamID, _ status: GRPCStatus) {
        writeStatus(id, status, headersSent: false)
    }

    private func writeStatus(_ id: HTTP2StreamID, _ status: GRPCStatus, headersSent: Bool) {
        var trailers = headersSent ? HPACKHeaders() : Self.responseHeaders
        for (name, value) in status.trailers { trailers.add(name: name, value: value) }
        write(HTTP2Frame(streamID: id, payload: .headers(.init(headers: trailers, endStream: true))))
    }

    private func write(_ frame: HTTP2Frame) {
        guard let context else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        scheduleFlush()
    }

    /// One flush per event-loop tick for everything written in it.
    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }

    // MARK: Cancellation and flow control

    /// Forgets call `id` without answering: the client reset it or the stream is gone.
    private func cancel(_ id: HTTP2StreamID) {
        guard let call = calls.removeValue(forKey: id) else { return }
        call.requests?.finish(throwing: CancellationError())
        call.task?.cancel()
    }

    private func cancelAll() {
        for id in Array(calls.keys) { cancel(id) }
    }

    private func widenConnectionWindow() {
        guard !connectionWindowWidened else { return }
        connectionWindowWidened = true
        write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: Self.connectionWindow - 65535)))
    }

    /// Tops the connection window up once half is used. It follows NIOHTTP2's own count,
    /// which includes DATA it drops without passing on (frames for streams already reset).
    private func replenishConnectionWindow(from inbound: Int) {
        guard connectionWindowWidened, inbound < Self.connectionWindow / 2 else { return }
        write(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: Self.connectionWindow - inbound)))
    }

    /// Returns a stream's flow-control credit as its data arrives: requests are small and
    /// handled at once, so the windows only need to be wide, not to push back.
    private func acknowledge(_ bytes: Int, on id: HTTP2StreamID) {
        guard bytes > 0, let call = calls[id], !call.clientDone else { return }
        call.unacknowledged += bytes
        if call.unacknowledged >= Self.streamWindow / 2 {
            write(HTTP2Frame(streamID: id, payload: .windowUpdate(windowSizeIncrement: call.unacknowledged)))
            call.unacknowledged = 0
        }
    }
}
