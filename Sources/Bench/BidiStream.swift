import LeanGRPC
import NIOCore
import SwiftProtobuf

/// A bidirectional gRPC stream, transport-independent: `send` requests, `next()` responses.
/// One task at a time may call `next()`.
public final class BidiStream<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>: @unchecked Sendable {
    // @unchecked: the iterators are used by one consumer at a time, by contract.
    private let sendBody: @Sendable (Request?) throws -> Void
    private let cancelBody: @Sendable () -> Void
    private var rawIterator: AsyncThrowingStream<[ByteBuffer], any Error>.AsyncIterator?
    private var typedIterator: AsyncThrowingStream<Response, any Error>.AsyncIterator?
    /// The raw batch being consumed, and the index of its next message.
    private var batch: [ByteBuffer] = []
    private var nextInBatch = 0

    init(
        send: @escaping @Sendable (Request?) throws -> Void, cancel: @escaping @Sendable () -> Void,
        raw: AsyncThrowingStream<[ByteBuffer], any Error>
    ) {
        sendBody = send
        cancelBody = cancel
        rawIterator = raw.makeAsyncIterator()
    }

    init(
        send: @escaping @Sendable (Request?) throws -> Void, cancel: @escaping @Sendable () -> Void,
        typed: AsyncThrowingStream<Response, any Error>
    ) {
        sendBody = send
        cancelBody = cancel
        typedIterator = typed.makeAsyncIterator()
    }

    /// Queues `request` for sending.
    public func send(_ request: Request) throws { try sendBody(request) }

    /// The next response, nil when the server ended the stream.
    public func next() async throws -> Response? {
        if rawIterator != nil {
            while nextInBatch == batch.count {
                guard let more = try await rawIterator!.next() else { return nil }
                (batch, nextInBatch) = (more, 0)
            }
            nextInBatch += 1
            return try GRPCMessageBuffer.decode(Response.self, from: batch[nextInBatch - 1])
        }
        return try await typedIterator!.next()
    }

    /// Cancels the call.
    public func cancel() { cancelBody() }
}
