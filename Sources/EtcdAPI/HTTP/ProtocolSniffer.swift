import NIOCore

/// First handler of every client connection: looks at the first bytes to tell gRPC (the
/// HTTP/2 connection preface) from plain HTTP/1.1, as etcd serves both on one port.
/// It installs the handlers for the protocol it sees behind itself, hands them the bytes so
/// far and removes itself. A connection that does not say which within `timeout` is closed.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let makeHTTP2Handlers: () -> [any ChannelHandler]
    private let makeHTTP1Handlers: () -> [any ChannelHandler]
    private var received: ByteBuffer?
    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(
        timeout: TimeAmount, makeHTTP2Handlers: @escaping () -> [any ChannelHandler],
        makeHTTP1Handlers: @escaping () -> [any ChannelHandler]
    ) {
        self.timeout = timeout
        self.makeHTTP2Handlers = makeHTTP2Handlers
        self.makeHTTP1Handlers = makeHTTP1Handlers
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armDeadline(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    private func armDeadline(context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if received == nil {
            received = incoming
        } else {
            received!.writeBuffer(&incoming)
        }
        let bytes = received!.readableBytesView
        let compared = min(bytes.count, Self.http2Preface.count)
        if !bytes.prefix(compared).elementsEqual(Self.http2Preface.prefix(compared)) {
            switchTo(makeHTTP1Handlers(), context: context)
        } else if compared == Self.http2Preface.count {
            switchTo(makeHTTP2Handlers(), context: context)
        }
        // Otherwise a prefix of the preface: wait for more bytes.
    }

    private func switchTo(_ handlers: [any ChannelHandler], context: ChannelHandlerContext) {
        do {
            try context.pipeline.syncOperations.addHandlers(handlers, position: .after(self))
        } catch {
            context.close(promise: nil)
            return
        }
        forwardAndLeave(context: context)
    }

    private func forwardAndLeave(context: ChannelHandlerContext) {
        if let received {
            self.received = nil
            context.fireChannelRead(wrapInboundOut(received))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
