import NIOCore
import NIOSSL

/// Keeps a grpc-go server's (the real etcd's) routine HTTP/2 chatter away from
/// swift-nio-http2's denial-of-service heuristics, which would otherwise close a busy
/// client connection within a second ("Stream unexpectedly closed").
///
/// Two kinds of inbound frame trip them, and grpc-go sends both at the rate of requests:
///
/// - `RST_STREAM(NO_ERROR)` after many unary responses: when the trailers go out before the
///   client's `END_STREAM` has arrived, the server tells the client it need not send more
///   (RFC 9113 §8.1). swift-nio-http2 counts every inbound `RST_STREAM`, and
///   grpc-swift-nio-transport fixes the client limit at 200 in 10 s, with no setting.
///   A graceful reset tells the client nothing it needs: the response is complete and the
///   client's own `END_STREAM` follows anyway (the server ignores it). The filter drops
///   these; resets with any other error code pass through.
/// - `PING` for bandwidth-delay estimation, one per round of received data. swift-nio-http2
///   counts inbound PING/SETTINGS frames against 200 in 30 s (its default, which the
///   transport does not change or expose). The filter answers such pings itself, with the
///   `PING ACK` the protocol requires, and does not pass them on. Ping acknowledgements
///   (answers to the client's own keep-alive pings) pass through.
///
/// Install it where the HTTP/2 bytes arrive in the clear: first in the pipeline, or right
/// behind the TLS handler (``install(on:)`` picks), with grpc-swift-nio-transport from
/// `channelDebuggingCallbacks.onCreateTCPConnection`.
public final class HTTP2ChatterFilter: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Size of an HTTP/2 frame header: length (24 bits), type, flags, stream id (32 bits).
    static let frameHeaderSize = 9
    /// Frame type of `RST_STREAM`.
    static let resetStreamType: UInt8 = 0x3
    /// A complete `RST_STREAM` frame: the header and a 32-bit error code.
    static let resetStreamFrameSize = frameHeaderSize + 4
    /// Frame type of `PING`.
    static let pingType: UInt8 = 0x6
    /// A complete `PING` frame: the header and 8 bytes of opaque data.
    static let pingFrameSize = frameHeaderSize + 8

    /// Bytes of the frame being passed through that are still to come.
    private var remainingInFrame = 0
    /// The start of a frame whose header (or, for `RST_STREAM`, whole body) is incomplete.
    private var carried: ByteBuffer?
    /// Graceful resets dropped so far.
    public private(set) var droppedResets = 0
    /// Pings answered so far.
    public private(set) var answeredPings = 0

    public init() {}

    /// Adds a filter at the front of `channel`'s pipeline. Call it from the channel's event
    /// loop, e.g. from grpc-swift-nio-transport's `onCreateTCPConnection` callback:
    ///
    /// ```swift
    /// config.channelDebuggingCallbacks.onCreateTCPConnection = { channel in
    ///     HTTP2ChatterFilter.install(on: channel)
    /// }
    /// ```
    public static func install(on channel: any Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            // Under TLS, frames can be read only once decrypted: right behind the TLS handler.
            if let tls = try? pipeline.handler(type: NIOSSLClientHandler.self) {
                try pipeline.addHandler(HTTP2ChatterFilter(), position: .after(tls))
            } else {
                try pipeline.addHandler(HTTP2ChatterFilter(), position: .first)
            }
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if var carried {
            self.carried = nil
            carried.writeBuffer(&input)
            input = carried
        }
        // `position` walks the frames; bytes from `runStart` to it are forwarded as one
        // slice when a dropped frame interrupts them, or at the end.
        let end = input.writerIndex
        var position = input.readerIndex
        var runStart = position
        func forwardRun() {
            guard position > runStart else { return }
            context.fireChannelRead(wrapInboundOut(input.getSlice(at: runStart, length: position - runStart)!))
        }
        var acknowledgements: ByteBuffer?
        func carryRest() {
            forwardRun()
            carried = input.getSlice(at: position, length: end - position)
        }
        defer {
            if let acknowledgements { context.writeAndFlush(wrapOutboundOut(acknowledgements), promise: nil) }
        }
        while position < end {
            if remainingInFrame > 0 {
                let step = min(remainingInFrame, end - position)
                position += step
                remainingInFrame -= step
                continue
            }
            guard end - position >= Self.frameHeaderSize,
                let high = input.getInteger(at: position, as: UInt8.self),
                let low = input.getInteger(at: position + 1, as: UInt16.self),
                let type = input.getInteger(at: position + 3, as: UInt8.self)
            else {
                carryRest()
                return
            }
            let length = Int(high) << 16 | Int(low)
            if type == Self.pingType && length == 8 {
                guard end - position >= Self.pingFrameSize else {
                    carryRest()
                    return
                }
                let flags = input.getInteger(at: position + 4, as: UInt8.self)!
                if flags & 0x1 == 0 {
                    forwardRun()
                    // The answer: the same frame with the ACK flag.
                    var ack = acknowledgements ?? context.channel.allocator.buffer(capacity: Self.pingFrameSize)
                    var frame = input.getSlice(at: position, length: Self.pingFrameSize)!
                    ack.writeBuffer(&frame)
                    ack.setInteger(UInt8(0x1), at: ack.writerIndex - Self.pingFrameSize + 4)
                    acknowledgements = ack
                    position += Self.pingFrameSize
                    runStart = position
                    answeredPings += 1
                    continue
                }
            }
            if type == Self.resetStreamType && length == 4 {
                guard end - position >= Self.resetStreamFrameSize else {
                    carryRest()
                    return
                }
                if input.getInteger(at: position + Self.frameHeaderSize, as: UInt32.self) == 0 {
                    forwardRun()
                    position += Self.resetStreamFrameSize
                    runStart = position
                    droppedResets += 1
                    continue
                }
            }
            remainingInFrame = Self.frameHeaderSize + length
        }
        forwardRun()
    }
}
