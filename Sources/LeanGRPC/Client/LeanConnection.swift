import NIOCore
import NIOHTTP2
import NIOPosix
import SwiftProtobuf
import Synchronization

/// An HTTP/2 connection (plaintext, or behind a TLS handler the caller makes) speaking gRPC
/// through ``LeanClientHandler``.
public final class LeanConnection: Sendable {
    public let channel: any Channel
    private let handler: NIOLoopBound<LeanClientHandler>
    private let nextToken = Atomic<Int>(0)

    private init(channel: any Channel, handler: NIOLoopBound<LeanClientHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Connects to `host:port` on one of the singleton event loops; with `tlsHandler`, the
    /// handler it makes (a TLS client handler) is put in front of HTTP/2 and calls go as https.
    public static func connect(
        host: String, port: Int, tlsHandler: (@Sendable () throws -> any ChannelHandler)? = nil
    ) async throws -> LeanConnection {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let handshake = tlsHandler.map { _ in eventLoop.makePromise(of: Void.self) }
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let connecting = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var connection = NIOHTTP2Handler.ConnectionConfiguration()
                    connection.initialSettings = [
                        HTTP2Setting(parameter: .enablePush, value: 0),
                        HTTP2Setting(parameter: .initialWindowSize, value: LeanClientHandler.streamWindow),
                        HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 16),
                    ]
                    // We are the client of a server we trust to be busy, not hostile: its
                    // pings and resets come at the rate of requests.
                    connection.controlFrameRateLimit.maximumCount = Int.max / 2
                    connection.maximumConnectionGlitches = Int.max / 2
                    var stream = NIOHTTP2Handler.StreamConfiguration()
                    stream.streamResetFrameRateLimit.maximumCount = Int.max / 2
                    stream.streamErrorRateLimit.maximumCount = Int.max / 2
                    let sync = channel.pipeline.syncOperations
                    if let tlsHandler, let handshake {
                        try sync.addHandler(try tlsHandler())
                        try sync.addHandler(TLSHandshakeWaiter(done: handshake))
                    }
                    try sync.addHandler(
                        NIOHTTP2Handler(mode: .client, connectionConfiguration: connection, streamConfiguration: stream))
                    try sync.addHandler(LeanClientHandler(authority: authority, scheme: tlsHandler == nil ? "http" : "https"))
                }
            }
            .connect(host: host, port: port)
        let channel: any Channel
        do {
            channel = try await connecting.get()
        } catch {
            handshake?.fail(error)
            throw error
        }
        if let handshake {
            do {
                try await handshake.futureResult.get()
            } catch {
                channel.close(promise: nil)
                throw error
            }
        }
        let handler: NIOLoopBound<LeanClientHandler>
        do {
            handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: LeanClientHandler.self), eventLoop: channel.eventLoop)
            }.get()
        } catch {
            // The connection closed already and took its handlers with it.
            throw LeanRPCError.unavailable(
                tlsHandler == nil ? "connection closed" : LeanClientHandler.closedAfterTLSHandshake)
        }
        return LeanConnection(channel: channel, handler: handler)
    }

    /// Runs `body` with the handler on the connection's event loop (at once when already on it).
    @inline(__always)
    private func onLoop(_ body: @escaping @Sendable (LeanClientHandler) -> Void) {
        let eventLoop = channel.eventLoop
        if eventLoop.inEventLoop {
            body(handler.value)
        } else {
            let handler = self.handler
            eventLoop.execute { body(handler.value) }
        }
    }

    /// One unary call. Inlinable so that encoding and decoding are specialised for the
    /// caller's message types.
    /// `metadata` is sent as gRPC custom metadata (lower-case names).
    @inlinable
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ path: String, _ request: Request, as: Response.Type, metadata: [(name: String, value: String)] = []
    ) async throws -> Response {
        let body = try await unary(path, framed: try GRPCMessageBuffer.framed(request), metadata: metadata)
        return try GRPCMessageBuffer.decode(Response.self, from: body)
    }

    /// One unary call with a framed request; returns the response message's bytes.
    public func unary(_ path: String, framed: ByteBuffer, metadata: [(name: String, value: String)] = []) async throws -> ByteBuffer {
        try await withUnsafeThrowingContinuation { continuation in
            onLoop { $0.startUnary(path: path, request: framed, metadata: metadata, continuation: continuation) }
        }
    }

    /// Opens a bidirectional stream; its response messages arrive on `responses`, in batches.
    public func openStream(_ path: String) -> (token: Int, responses: AsyncThrowingStream<[ByteBuffer], any Error>) {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        let (responses, continuation) = AsyncThrowingStream<[ByteBuffer], any Error>.makeStream()
        onLoop { $0.startStream(token: token, path: path, continuation: continuation) }
        return (token, responses)
    }

    /// Sends a framed message on stream `token` (nil ends the request side); `written`, if
    /// given, completes once the message is on the socket.
    public func send(token: Int, framed: ByteBuffer?, written: EventLoopPromise<Void>? = nil) {
        onLoop { $0.send(token: token, message: framed, written: written) }
    }

    /// Cancels stream `token`.
    public func cancel(token: Int) {
        onLoop { $0.cancel(token: token) }
    }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }
}
