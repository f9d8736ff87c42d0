import NIOCore

extension GRPCServerConnection {
    /// One call in flight. Event-loop confined, like the handler.
    final class Call {
        let handler: GRPCRoutes.Handler
        let head: GRPCCallHead
        var reader: GRPCMessageReader
        /// The unary request, once it has arrived.
        var request: ByteBuffer?
        var requestCount = 0
        /// Feeds a streaming handler its request messages.
        var requests: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
        var task: Task<Void, Never>?
        var headersSent = false
        /// The client has half-closed (END_STREAM seen).
        var clientDone = false
        /// Flow-controlled bytes received since the last stream WINDOW_UPDATE.
        var unacknowledged = 0

        init(handler: GRPCRoutes.Handler, head: GRPCCallHead, maxMessageBytes: Int) {
            self.handler = handler
            self.head = head
            reader = GRPCMessageReader(maxMessageBytes: maxMessageBytes)
        }
    }
}
