import NIOCore
import NIOHPACK
import NIOHTTP2

/// A gRPC client on raw HTTP/2 frames: no stream channels, no per-call tasks. It sits after
/// `NIOHTTP2Handler` (which does framing, HPACK and the protocol state machine) and keeps
/// a table of calls by stream id.
///
/// Per unary call it writes one HEADERS and one DATA frame carrying `END_STREAM` (so a
/// grpc-go server never needs to reset the stream), and flushes once per event-loop tick
/// for all calls started in it. It manages inbound flow control itself (large windows,
/// WINDOW_UPDATE as data is consumed) and honours the server's MAX_CONCURRENT_STREAMS by
/// queueing.
final class LeanClientHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// Stream window we advertise; updated when half is used.
    static let streamWindow = 1 << 24
    /// Connection window we grant; updated when half is used.
    static let connectionWindow = 1 << 30

    private let authority: String
    private let scheme: String
    private var context: ChannelHandlerContext?
    private var calls: [HTTP2StreamID: LeanCall] = [:]
    /// Long-lived streams by the token their owner knows them by.
    private var streamsByToken: [Int: LeanCall] = [:]
    private var waiting = CircularBuffer<LeanCall>()
    private var nextStreamID = 1
    private var openStreams = 0
    private var maxConcurrentStreams = Int.max
    private var flushScheduled = false
    private var connectionUnacknowledged = 0
    private var failure: LeanRPCError?
    private var headersByPath: [String: HPACKHeaders] = [:]
    /// Whether the server said anything yet (its SETTINGS come first).
    private var heardFromServer = false
    /// Streams that received messages in the current read; flushed at its end.
    private var unflushed: [LeanCall] = []

    init(authority: String, scheme: String = "http") {
        self.authority = authority
        self.scheme = scheme
    }

    // MARK: Calls

    /// Starts a unary call; `continuation` gets the response message.
    func startUnary(
        path: String, request: ByteBuffer, metadata: [(name: String, value: String)] = [],
        continuation: UnsafeContinuation<ByteBuffer, any Error>
    ) {
        let call = LeanCall(kind: .unary(continuation), path: path, metadata: metadata)
        call.queued = [(request, nil)]
        call.endAfterQueue = true
        start(call)
    }

    /// Starts a bidirectional stream known to its owner as `token`.
    func startStream(
        token: Int, path: String, continuation: AsyncThrowingStream<[ByteBuffer], any Error>.Continuation
    ) {
        let call = LeanCall(kind: .stream(continuation), path: path)
        streamsByToken[token] = call
        start(call)
    }

    /// Sends `message` on stream `token`, or ends its request side (`message == nil`);
    /// `written` completes once the message is on the socket, or fails with the stream.
    func send(token: Int, message: ByteBuffer?, written: EventLoopPromise<Void>? = nil) {
        guard let call = streamsByToken[token], !call.finished, !call.endAfterQueue else {
            written?.fail(failure ?? LeanRPCError.unavailable("stream \(token) is closed"))
            return
        }
        if let message {
            call.queued.append((message, written))
        } else {
            call.endAfterQueue = true
            written?.succeed()
        }
        if call.streamID != nil { writeQueued(call) }
    }

    /// Cancels stream `token` (RST_STREAM CANCEL) and finishes its response sequence.
    func cancel(token: Int) {
        guard let call = streamsByToken.removeValue(forKey: token) else { return }
        if let id = call.streamID, !call.finished {
            context?.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .rstStream(.cancel))), promise: nil)
            scheduleFlush()
        }
        call.succeed()
    }

    private func start(_ call: LeanCall) {
        if let failure {
            call.fail(failure)
            return
        }
        guard openStreams < maxConcurrentStreams else {
            waiting.append(call)
            return
        }
        open(call)
    }

    private func open(_ call: LeanCall) {
        guard let context else {
            call.fail(LeanRPCError.unavailable("connection not ready"))
            return
        }
        let id = HTTP2StreamID(nextStreamID)
        nextStreamID += 2
        openStreams += 1
        call.streamID = id
        calls[id] = call
        var headers = requestHeaders(path: call.path)
        for (name, value) in call.metadata { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .headers(.init(headers: headers)))), promise: nil)
        writeQueued(call)
    }

    private func writeQueued(_ call: LeanCall) {
        guard let context, let id = call.streamID else { return }
        let messages = call.queued
        call.queued.removeAll()
        for (index, (message, written)) in messages.enumerated() {
            let last = index == messages.count - 1
            let data = HTTP2Frame.FramePayload.Data(data: .byteBuffer(message), endStream: last && call.endAfterQueue)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(data))), promise: written)
        }
        if messages.isEmpty && call.endAfterQueue {
            let empty = HTTP2Frame.FramePayload.Data(data: .byteBuffer(ByteBuffer()), endStream: true)
            context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: .data(empty))), promise: nil)
        }
        scheduleFlush()
    }

    private func requestHeaders(path: String) -> HPACKHeaders {
        if let cached = headersByPath[path] { return cached }
        let headers: HPACKHeaders = [
            ":method": "POST", ":scheme": scheme, ":path": path, ":authority": authority,
            "content-type": "application/grpc", "te": "trailers",
        ]
        headersByPath[path] = headers
        return headers
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

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        // NIOHTTP2Handler, before us, has sent the preface; widen the connection window.
        let increment = Self.connectionWindow - 65535
        context.writeAndFlush(
            wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))),
            promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        heardFromServer = true
        switch frame.payload {
        case .headers(let headers):
            guard let call = calls[frame.streamID] else { return }
            if headers.endStream {
                finish(call, trailers: headers.headers)
            } else if let status = headers.headers.first(name: ":status"), status != "200" {
                call.fail(LeanRPCError(code: 14, message: "HTTP status \(status)"))
            }
        case .data(let payload):
            guard case .byteBuffer(let bytes) = payload.data else { return }
            let flowControlled = bytes.readableBytes + (payload.paddingBytes.map { $0 + 1 } ?? 0)
            acknowledge(flowControlled, on: frame.streamID)
            guard let call = calls[frame.streamID] else { return }
            receive(bytes, into: call)
            if payload.endStream { finish(call, trailers: nil) }
        case .rstStream(let code):
            if let call = calls[frame.streamID] {
                call.fail(LeanRPCError(code: code == .refusedStream ? 14 : 1, message: "stream reset by server: \(code)"))
            }
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .maxConcurrentStreams {
                maxConcurrentStreams = setting.value
                startWaiting()
            }
        case .goAway(let lastStreamID, let code, _):
            failure = LeanRPCError.unavailable("server sent GOAWAY (\(code))")
            for (id, call) in calls where id > lastStreamID { call.fail(failure!) }
            failWaiting()
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        for call in unflushed { call.flush() }
        unflushed.removeAll(keepingCapacity: true)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent, let call = calls.removeValue(forKey: closed.streamID) {
            openStreams -= 1
            call.fail(LeanRPCError.unavailable("stream closed: \(closed.reason.map { "\($0)" } ?? "no reason")"))
            startWaiting()
        }
        context.fireUserInboundEventTriggered(event)
    }

    static let closedAfterTLSHandshake =
        "connection closed by the server before it spoke HTTP/2: it may have refused this side's TLS certificate"

    func channelInactive(context: ChannelHandlerContext) {
        // A TLS server that refuses a client certificate after a TLS 1.3 handshake closes
        // the connection before sending anything.
        let refusedAfterHandshake = scheme == "https" && !heardFromServer
        failAll(LeanRPCError.unavailable(
            refusedAfterHandshake
                ? Self.closedAfterTLSHandshake : "connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(LeanRPCError.unavailable("connection error: \(error)"))
        context.close(promise: nil)
    }

    // MARK: Inbound helpers

    private func receive(_ bytes: ByteBuffer, into call: LeanCall) {
        do {
            try call.reader.read(bytes) { message in
                if call.deliver(message) { unflushed.append(call) }
            }
        } catch {
            call.fail(LeanRPCError(code: 12, message: "compressed messages are not supported"))
        }
    }

    private func finish(_ call: LeanCall, trailers: HPACKHeaders?) {
        guard let trailers else {
            call.fail(LeanRPCError(code: 13, message: "stream ended without trailers"))
            return
        }
        guard let status = trailers.first(name: "grpc-status").flatMap({ Int($0) }) else {
            call.fail(LeanRPCError(code: 13, message: "trailers without grpc-status"))
            return
        }
        if status == 0 {
            call.succeed()
        } else {
            let message = trailers.first(name: "grpc-message").map(GRPCMessageText.decode) ?? ""
            call.fail(LeanRPCError(code: status, message: message))
        }
    }

    /// Returns flow-control credit as data is consumed (it is, at once).
    private func acknowledge(_ bytes: Int, on stream: HTTP2StreamID) {
        guard bytes > 0, let context else { return }
        connectionUnacknowledged += bytes
        if connectionUnacknowledged >= Self.connectionWindow / 2 {
            let frame = HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: connectionUnacknowledged))
            context.write(wrapOutboundOut(frame), promise: nil)
            connectionUnacknowledged = 0
            scheduleFlush()
        }
        guard let call = calls[stream], !call.finished else { return }
        call.unacknowledged += bytes
        if call.unacknowledged >= Self.streamWindow / 2 {
            let frame = HTTP2Frame(streamID: stream, payload: .windowUpdate(windowSizeIncrement: call.unacknowledged))
            context.write(wrapOutboundOut(frame), promise: nil)
            call.unacknowledged = 0
            scheduleFlush()
        }
    }

    private func startWaiting() {
        while openStreams < maxConcurrentStreams, let call = waiting.popFirst() {
            open(call)
        }
    }

    private func failWaiting() {
        while let call = waiting.popFirst() { call.fail(failure ?? LeanRPCError.unavailable("connection closed")) }
    }

    private func failAll(_ error: LeanRPCError) {
        failure = failure ?? error
        for call in calls.values { call.fail(error) }
        calls.removeAll()
        for call in streamsByToken.values { call.fail(error) }
        failWaiting()
    }
}
