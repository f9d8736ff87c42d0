import GRPCWire
import NIOCore
import SwiftProtobuf

/// A streaming call as its handler sees it: the request messages as they arrive and a way
/// to send responses. The connection owns the HTTP/2 stream; this only passes messages.
struct GRPCServerStream: Sendable {
    /// Request messages (without their gRPC prefix); finishes when the client half-closes,
    /// throws when the call is cancelled or the connection goes away.
    let requests: AsyncThrowingStream<ByteBuffer, any Error>
    /// Sends one framed response message; the future completes once it is on its way.
    let send: @Sendable (ByteBuffer) -> EventLoopFuture<Void>
}

/// The request messages of a streaming call, decoded.
struct GRPCRequestStream<Request: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    typealias Element = Request
    private let messages: AsyncThrowingStream<ByteBuffer, any Error>

    init(_ stream: GRPCServerStream) {
        messages = stream.requests
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var messages: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator

        mutating func next() async throws -> Request? {
            guard let bytes = try await messages.next() else { return nil }
            do {
                return try GRPCMessageBuffer.decode(Request.self, from: bytes)
            } catch {
                throw GRPCStatus.undecodableRequest(error)
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(messages: messages.makeAsyncIterator())
    }
}

/// Sends the response messages of a streaming call; each `write` returns once the message
/// has been handed to the connection (which is the call's back-pressure).
struct GRPCResponseWriter<Response: SwiftProtobuf.Message>: Sendable {
    private let send: @Sendable (ByteBuffer) -> EventLoopFuture<Void>

    init(_ stream: GRPCServerStream) {
        send = stream.send
    }

    func write(_ message: Response) async throws {
        try await send(GRPCMessageBuffer.framed(message)).get()
    }
}
