import NIOCore
import SwiftProtobuf
import Synchronization

/// A streaming call as its handler sees it: the request messages as they arrive and a way
/// to send responses. The connection owns the HTTP/2 stream; this only passes messages.
public struct GRPCServerStream: Sendable {
    /// Responses handed to the connection but not yet written to the socket, beyond which
    /// a writer waits (a client that stops reading stops its writer, not the server).
    @usableFromInline static let maxUnwrittenResponses = 128

    /// Request messages (without their gRPC prefix); finishes when the client half-closes,
    /// throws when the call is cancelled or the connection goes away.
    @usableFromInline let requests: AsyncThrowingStream<ByteBuffer, any Error>
    /// Sends framed response messages, in order; the future completes once all are written.
    @usableFromInline let send: @Sendable ([ByteBuffer]) -> EventLoopFuture<Void>
    /// Responses sent and not yet written; the connection counts them down.
    @usableFromInline let unwritten: UnwrittenCount
    /// The call's path, metadata and caller.
    public let head: GRPCCallHead
}

/// Responses of one call on their way to the socket.
@usableFromInline
final class UnwrittenCount: Sendable {
    private let count = Atomic<Int>(0)

    var value: Int { count.load(ordering: .acquiring) }

    /// Counts `n` more; returns the new count.
    @usableFromInline func add(_ n: Int) -> Int { count.wrappingAdd(n, ordering: .acquiringAndReleasing).newValue }

    func subtract(_ n: Int) { count.wrappingSubtract(n, ordering: .acquiringAndReleasing) }
}

/// The request messages of a streaming call, decoded.
public struct GRPCRequestStream<Request: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    public typealias Element = Request
    @usableFromInline let messages: AsyncThrowingStream<ByteBuffer, any Error>
    /// The call's path, metadata and caller.
    public let head: GRPCCallHead

    @usableFromInline
    init(_ stream: GRPCServerStream) {
        messages = stream.requests
        head = stream.head
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        @usableFromInline var messages: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator

        @usableFromInline
        init(messages: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator) {
            self.messages = messages
        }

        @inlinable
        public mutating func next() async throws -> Request? {
            guard let bytes = try await messages.next() else { return nil }
            do {
                return try GRPCMessageBuffer.decode(Request.self, from: bytes)
            } catch {
                throw GRPCStatus.undecodableRequest(error)
            }
        }
    }

    @inlinable
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(messages: messages.makeAsyncIterator())
    }
}

/// Sends the response messages of a streaming call. A `write` returns at once while few
/// responses wait for the socket, and waits for them to be written otherwise (the call's
/// back-pressure, which HTTP/2 flow control feeds: a stream out of window writes nothing).
public struct GRPCResponseWriter<Response: SwiftProtobuf.Message>: Sendable {
    @usableFromInline let stream: GRPCServerStream

    @usableFromInline
    init(_ stream: GRPCServerStream) {
        self.stream = stream
    }

    @inlinable
    public func write(_ message: Response) async throws {
        try await write(contentsOf: [message])
    }

    /// Sends `messages` in order, in one hand-over to the connection.
    @inlinable
    public func write(contentsOf messages: [Response]) async throws {
        guard !messages.isEmpty else { return }
        let framed = try messages.map { try GRPCMessageBuffer.framed($0) }
        if stream.unwritten.add(framed.count) > GRPCServerStream.maxUnwrittenResponses {
            try await stream.send(framed).get()
        } else {
            // Failures surface through cancellation: a call that is gone cancels its handler.
            _ = stream.send(framed)
        }
    }
}
