import NIOCore

/// First handler of every client connection: looks at the first bytes to tell gRPC (the
/// HTTP/2 connection preface) from plain HTTP/1.1, as etcd serves both on one port.
/// For HTTP/2 it opens the gate to the gRPC pipeline behind it; for HTTP/1.1 it inserts the
/// HTTP/1.1 handlers in front of the (then closed) gate. Either way it then removes itself.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let gate: GRPCGate
    private let makeHTTP1Handlers: () -> [any ChannelHandler]
    private var received: ByteBuffer?

    init(gate: GRPCGate, makeHTTP1Handlers: @escaping () -> [any ChannelHandler]) {
        self.gate = gate
        self.makeHTTP1Handlers = makeHTTP1Handlers
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
            switchToHTTP1(context: context)
        } else if compared == Self.http2Preface.count {
            switchToHTTP2(context: context)
        }
        // Otherwise a prefix of the preface: wait for more bytes.
    }

    private func switchToHTTP2(context: ChannelHandlerContext) {
        gate.open()
        forwardAndLeave(context: context)
    }

    private func switchToHTTP1(context: ChannelHandlerContext) {
        gate.closeToGRPC()
        do {
            try context.pipeline.syncOperations.addHandlers(makeHTTP1Handlers(), position: .after(self))
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

/// Sits in front of the gRPC (HTTP/2) handlers of a client connection. Until the sniffer
/// has decided, it holds back what the HTTP/2 side writes (its SETTINGS frame); on a gRPC
/// connection it then lets everything through, on an HTTP/1.1 connection it drops whatever
/// the idle HTTP/2 side would write or close, so only the HTTP/1.1 handlers talk.
final class GRPCGate: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    private enum State {
        case undecided(held: [(NIOAny, EventLoopPromise<Void>?)], flushed: Bool)
        case grpc
        case http1
    }

    private var state = State.undecided(held: [], flushed: false)
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch state {
        case .undecided(var held, let flushed):
            held.append((data, promise))
            state = .undecided(held: held, flushed: flushed)
        case .grpc:
            context.write(data, promise: promise)
        case .http1:
            promise?.succeed(())
        }
    }

    func flush(context: ChannelHandlerContext) {
        switch state {
        case .undecided(let held, _): state = .undecided(held: held, flushed: true)
        case .grpc: context.flush()
        case .http1: break
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if case .http1 = state {
            // The HTTP/2 side never saw a byte; its idle or keepalive timers must not end
            // an HTTP/1.1 connection (e.g. a streamed watch).
            promise?.succeed(())
            return
        }
        context.close(mode: mode, promise: promise)
    }

    /// The connection speaks gRPC: release what was held and step aside.
    func open() {
        guard case .undecided(let held, let flushed) = state, let context else { return }
        state = .grpc
        for (data, promise) in held { context.write(data, promise: promise) }
        if flushed { context.flush() }
    }

    /// The connection speaks HTTP/1.1: the gRPC side stays mute from now on.
    func closeToGRPC() {
        guard case .undecided(let held, _) = state else { return }
        state = .http1
        for (_, promise) in held { promise?.succeed(()) }
    }
}
