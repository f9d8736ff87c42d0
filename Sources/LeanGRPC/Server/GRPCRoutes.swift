import GRPCCore
import NIOCore
import SwiftProtobuf

/// The methods a gRPC server answers, by the `:path` of the request
/// (`/package.Service/Method`), each bound to the closure that serves it.
public struct GRPCRoutes: Sendable {
    /// How one method is served.
    public enum Handler: Sendable {
        /// One request message in, one response message (framed, ready to send) out; run in
        /// a task of its own, cancelled if the client resets the call.
        case unary(@Sendable (ByteBuffer, GRPCCallHead) async throws -> ByteBuffer)
        /// A unary method that reports through a completion instead of a task: it is handed
        /// the request on the connection's event loop (also where it may run reads) and calls
        /// the completion once, from any thread.
        case unaryCompleting(
            @Sendable (ByteBuffer, GRPCCallHead, any EventLoop, @escaping @Sendable (Result<ByteBuffer, GRPCStatus>) -> Void) -> Void)
        /// Request and response messages as streams, in either direction.
        case streaming(@Sendable (GRPCServerStream) async throws -> Void)
        /// A client-streaming method consumed on the connection's event loop: each request
        /// message is handed to `receive` as it arrives (no task, no async sequence), and the
        /// call ends with the framed `response` once the client half-closes, or with the
        /// status `receive` throws. For streams of small messages that only need handing on.
        case clientStreamingOnLoop(receive: @Sendable (ByteBuffer) throws -> Void, response: ByteBuffer)
    }

    private(set) var handlers: [String: Handler] = [:]
    private(set) var services: Set<Substring> = []

    public init() {}

    /// Serves `method` with a request/response function.
    @inlinable
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor, _ body: @escaping @Sendable (Request) async throws -> Response
    ) {
        unary(method, withHead: { request, _ in try await body(request) })
    }

    /// Serves `method` with a function of the request and the call's head (its metadata
    /// and caller).
    @inlinable
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor, withHead body: @escaping @Sendable (Request, GRPCCallHead) async throws -> Response
    ) {
        add(method, .unary { bytes, head in
            let request: Request
            do {
                request = try GRPCMessageBuffer.decode(Request.self, from: bytes)
            } catch {
                throw GRPCStatus.undecodableRequest(error)
            }
            return try GRPCMessageBuffer.framed(try await body(request, head))
        })
    }

    /// Serves `method` with a function that answers through `completion` (see
    /// `Handler.unaryCompleting`): no task per call.
    @inlinable
    public mutating func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message, Failure: Error>(
        _ method: MethodDescriptor,
        completing body: @escaping @Sendable (Request, GRPCCallHead, any EventLoop, @escaping @Sendable (Result<Response, Failure>) -> Void) -> Void
    ) {
        add(method, .unaryCompleting { bytes, head, loop, respond in
            let request: Request
            do {
                request = try GRPCMessageBuffer.decode(Request.self, from: bytes)
            } catch {
                return respond(.failure(.undecodableRequest(error)))
            }
            body(request, head, loop) { result in
                switch result {
                case .success(let response):
                    do {
                        respond(.success(try GRPCMessageBuffer.framed(response)))
                    } catch {
                        respond(.failure(GRPCStatus(error)))
                    }
                case .failure(let error):
                    respond(.failure(GRPCStatus(error)))
                }
            }
        })
    }

    /// Serves `method` with a function of the request stream and the response writer
    /// (client, server or bidirectional streaming alike).
    @inlinable
    public mutating func streaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ body: @escaping @Sendable (GRPCRequestStream<Request>, GRPCResponseWriter<Response>) async throws -> Void
    ) {
        add(method, .streaming { stream in
            try await body(GRPCRequestStream(stream), GRPCResponseWriter(stream))
        })
    }

    /// Serves a server-streaming `method`: one request, then any number of responses.
    @inlinable
    public mutating func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor,
        _ body: @escaping @Sendable (Request, GRPCResponseWriter<Response>) async throws -> Void
    ) {
        streaming(method) { (requests: GRPCRequestStream<Request>, writer: GRPCResponseWriter<Response>) in
            var iterator = requests.makeAsyncIterator()
            guard let request = try await iterator.next() else { throw GRPCStatus.missingRequest }
            try await body(request, writer)
        }
    }

    /// Serves a client-streaming `method` on the event loop (see
    /// `Handler.clientStreamingOnLoop`): `receive` gets each request decoded, `response`
    /// answers the call when the client is done.
    @inlinable
    public mutating func clientStreamingOnLoop<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor, response: Response, _ receive: @escaping @Sendable (Request) throws -> Void
    ) throws {
        add(method, .clientStreamingOnLoop(
            receive: { bytes in
                let request: Request
                do {
                    request = try GRPCMessageBuffer.decode(Request.self, from: bytes)
                } catch {
                    throw GRPCStatus.undecodableRequest(error)
                }
                try receive(request)
            },
            response: try GRPCMessageBuffer.framed(response)))
    }

    @usableFromInline
    mutating func add(_ method: MethodDescriptor, _ handler: Handler) {
        let path = "/" + method.fullyQualifiedMethod
        precondition(handlers[path] == nil, "\(path) is served twice")
        handlers[path] = handler
        services.insert(Substring(method.service.fullyQualifiedService))
    }

    /// The handler for a request's `:path`, or the status grpc-go answers when there is none.
    public func handler(for path: String) -> Result<Handler, GRPCStatus> {
        if let handler = handlers[path] { return .success(handler) }
        let name = path.first == "/" ? path.dropFirst() : Substring(path)
        guard let slash = name.lastIndex(of: "/") else { return .failure(.malformedPath(path)) }
        let service = name[..<slash]
        let method = name[name.index(after: slash)...]
        return .failure(services.contains(service) ? .unknownMethod(method, service: service) : .unknownService(service))
    }
}
