import NIOCore
import NIOHTTP2

/// One call in flight on a ``LeanClientHandler``. Event-loop confined.
final class LeanCall {
    enum Kind {
        /// Resumed once, with the response message or an error.
        case unary(UnsafeContinuation<ByteBuffer, any Error>)
        /// Fed the response messages in batches, one per socket read; finished by the trailers.
        case stream(AsyncThrowingStream<[ByteBuffer], any Error>.Continuation)
    }

    let kind: Kind
    let path: String
    /// Headers sent after the standard ones (gRPC custom metadata), in order.
    let metadata: [(name: String, value: String)]
    /// Outbound messages waiting for the stream to open (and, for unary, the request), each
    /// with the promise its sender waits on, if any.
    var queued: [(message: ByteBuffer, written: EventLoopPromise<Void>?)] = []
    /// The request side is over once the queue drains (unary calls, closed streams).
    var endAfterQueue = false
    var streamID: HTTP2StreamID?
    /// Messages arriving across DATA frames.
    var reader = GRPCMessageReader()
    /// The unary response message.
    var response: ByteBuffer?
    /// Stream messages of the current socket read, not yet handed over (see ``flush()``).
    var pending: [ByteBuffer] = []
    /// Flow-controlled bytes received since the last stream WINDOW_UPDATE.
    var unacknowledged = 0
    var finished = false

    init(kind: Kind, path: String, metadata: [(name: String, value: String)] = []) {
        self.kind = kind
        self.path = path
        self.metadata = metadata
    }

    /// Ends the call with the response (unary) or the end of the stream.
    func succeed() {
        guard !finished else { return }
        finished = true
        switch kind {
        case .unary(let continuation):
            if let response {
                continuation.resume(returning: response)
            } else {
                continuation.resume(throwing: LeanRPCError(code: 13, message: "unary call ended without a response"))
            }
        case .stream(let continuation):
            flush()
            continuation.finish()
        }
    }

    func fail(_ error: any Error) {
        for (_, written) in queued { written?.fail(error) }
        queued.removeAll()
        guard !finished else { return }
        finished = true
        switch kind {
        case .unary(let continuation): continuation.resume(throwing: error)
        case .stream(let continuation):
            flush()
            continuation.finish(throwing: error)
        }
    }

    /// A complete message arrived. Returns true when it is the first stream message since
    /// the last ``flush()``, so the handler knows to flush this call at the end of the read.
    func deliver(_ message: ByteBuffer) -> Bool {
        switch kind {
        case .unary:
            response = message
            return false
        case .stream:
            pending.append(message)
            return pending.count == 1
        }
    }

    /// Hands the pending stream messages over in one batch: a consumer task wakes once per
    /// socket read, not once per message (a watch stream gets thousands per read).
    func flush() {
        guard case .stream(let continuation) = kind, !pending.isEmpty else { return }
        continuation.yield(pending)
        pending = []
    }
}
