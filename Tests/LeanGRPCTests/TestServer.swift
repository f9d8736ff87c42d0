import GRPCCore
import LeanGRPC
import NIOCore
import NIOPosix
import SwiftProtobuf
import Synchronization

/// A LeanGRPC server on 127.0.0.1 and a port the system chose, serving ``TestService``'s
/// methods; `stop()` closes the listener and every connection it accepted.
final class TestServer: Sendable {
    static let maxMessageBytes = 1024

    let port: Int
    /// Calls of `Hang` that have reached their handler (and then wait until cancelled).
    let hanging: AsyncStream<Void>
    private let listener: any Channel
    private let connections: OpenConnections

    private init(port: Int, hanging: AsyncStream<Void>, listener: any Channel, connections: OpenConnections) {
        self.port = port
        self.hanging = hanging
        self.listener = listener
        self.connections = connections
    }

    static func start(maxConcurrentStreams: Int = GRPCServerConnection.defaultMaxConcurrentStreams) async throws -> TestServer {
        let (hanging, hangStarted) = AsyncStream<Void>.makeStream()
        let routes = TestService.routes(hangStarted: hangStarted)
        let connections = OpenConnections()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    connections.add(channel)
                    try channel.pipeline.syncOperations.addHandlers(
                        GRPCServerConnection.handlers(
                            on: channel, routes: routes, maxMessageBytes: maxMessageBytes,
                            maxConcurrentStreams: maxConcurrentStreams))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = listener.localAddress?.port else { throw TestFailure("the listener has no port") }
        return TestServer(port: port, hanging: hanging, listener: listener, connections: connections)
    }

    func connect() async throws -> LeanConnection {
        try await LeanConnection.connect(host: "127.0.0.1", port: port)
    }

    func stop() async {
        connections.closeAll()
        try? await listener.close()
    }
}

/// The methods of the test service, on well-known protobuf types.
enum TestService {
    static let service = ServiceDescriptor(fullyQualifiedService: "lean.test.Echo")
    /// Answers the request's value; "fail:<text>" fails with FAILED_PRECONDITION and <text>.
    static let echo = MethodDescriptor(service: service, method: "Echo")
    /// Never answers: reports on `hanging`, then waits until cancelled.
    static let hang = MethodDescriptor(service: service, method: "Hang")
    /// Server streaming: answers n with 1...n; a negative n sends 1, 2, then fails ABORTED.
    static let count = MethodDescriptor(service: service, method: "Count")
    /// Client streaming: the sum of every request, sent once the client half-closes.
    static let sum = MethodDescriptor(service: service, method: "Sum")
    /// Bidirectional: each request doubled, as it arrives.
    static let double = MethodDescriptor(service: service, method: "Double")

    static func path(_ method: MethodDescriptor) -> String { "/" + method.fullyQualifiedMethod }

    static let failedPrecondition = 9
    static let aborted = 10

    static func routes(hangStarted: AsyncStream<Void>.Continuation) -> GRPCRoutes {
        var routes = GRPCRoutes()
        routes.unary(echo) { (request: Google_Protobuf_StringValue) -> Google_Protobuf_StringValue in
            if request.value.hasPrefix("fail:") {
                throw GRPCStatus(code: failedPrecondition, message: String(request.value.dropFirst(5)))
            }
            return request
        }
        routes.unary(hang) { (_: Google_Protobuf_Empty) -> Google_Protobuf_Empty in
            hangStarted.yield()
            while true { try await Task.sleep(for: .seconds(60)) }
        }
        routes.serverStreaming(count) {
            (request: Google_Protobuf_Int64Value, writer: GRPCResponseWriter<Google_Protobuf_Int64Value>) in
            for value in 1...max(abs(request.value), 1) {
                if request.value < 0 && value > 2 { throw GRPCStatus(code: aborted, message: "stopped at \(value)") }
                try await writer.write(Google_Protobuf_Int64Value(value))
            }
        }
        routes.streaming(sum) {
            (requests: GRPCRequestStream<Google_Protobuf_Int64Value>, writer: GRPCResponseWriter<Google_Protobuf_Int64Value>) in
            var total: Int64 = 0
            for try await request in requests { total += request.value }
            try await writer.write(Google_Protobuf_Int64Value(total))
        }
        routes.streaming(double) {
            (requests: GRPCRequestStream<Google_Protobuf_Int64Value>, writer: GRPCResponseWriter<Google_Protobuf_Int64Value>) in
            for try await request in requests { try await writer.write(Google_Protobuf_Int64Value(request.value * 2)) }
        }
        return routes
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `body`'s result, or a failure once `seconds` have passed without one; the body is left
/// running then (an awaited call that never ends cannot be cancelled), but the test goes on.
func within<T: Sendable>(
    _ seconds: Int = 10, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let first = FirstResult<T>()
    return try await withCheckedThrowingContinuation { continuation in
        first.await(continuation)
        let work = Task {
            do { first.resume(.success(try await body())) } catch { first.resume(.failure(error)) }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            first.resume(.failure(TestFailure("\(what): nothing after \(seconds) s")))
            work.cancel()
        }
    }
}

/// Resumes a continuation with the first result it is given; later ones are dropped.
private final class FirstResult<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func await(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(_ result: Result<T, any Error>) {
        continuation.withLock { $0.take() }?.resume(with: result)
    }
}

/// A stream call on a LeanConnection, its responses decoded.
struct StreamCall<Response: SwiftProtobuf.Message>: Sendable {
    let connection: LeanConnection
    let token: Int
    let batches: AsyncThrowingStream<[ByteBuffer], any Error>

    init(_ connection: LeanConnection, _ method: MethodDescriptor, as: Response.Type = Response.self) {
        self.connection = connection
        (token, batches) = connection.openStream(TestService.path(method))
    }

    func send(_ message: some SwiftProtobuf.Message) throws {
        connection.send(token: token, framed: try GRPCMessageBuffer.framed(message))
    }

    func closeRequests() { connection.send(token: token, framed: nil) }

    /// Every response until the call ends, and how it ended (nil: OK).
    func collect() async throws -> ([Response], (any Error)?) {
        var responses: [Response] = []
        do {
            for try await batch in batches {
                responses += try batch.map { try GRPCMessageBuffer.decode(Response.self, from: $0) }
            }
            return (responses, nil)
        } catch {
            return (responses, error)
        }
    }
}

extension Google_Protobuf_StringValue {
    static func big(_ count: Int) -> Google_Protobuf_StringValue {
        Google_Protobuf_StringValue(String(repeating: "x", count: count))
    }
}
