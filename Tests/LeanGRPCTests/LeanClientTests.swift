import Foundation
import GRPCCore
import LeanGRPC
import NIOCore
import NIOPosix
import SwiftProtobuf
import Testing

/// LeanGRPC's client (`LeanConnection`) against LeanGRPC's server over a real socket. Awaits
/// that could hang are bounded by `within`, stream reads by the suite's time limit.
@Suite(.timeLimit(.minutes(1))) struct LeanClientTests {
    typealias Text = Google_Protobuf_StringValue
    typealias Number = Google_Protobuf_Int64Value

    static func echo(_ connection: LeanConnection, _ text: String) async throws -> String {
        try await connection.unary(TestService.path(TestService.echo), Text(text), as: Text.self).value
    }

    /// The error `body` throws, as a LeanRPCError (any other outcome fails the test).
    static func rpcError(_ body: () async throws -> Void) async -> LeanRPCError? {
        do {
            try await body()
            Issue.record("the call succeeded")
        } catch let error as LeanRPCError {
            return error
        } catch {
            Issue.record("not a LeanRPCError: \(error)")
        }
        return nil
    }

    /// Runs `body` with a fresh server and a connection to it, then closes both.
    static func withConnection(
        maxConcurrentStreams: Int = GRPCServerConnection.defaultMaxConcurrentStreams,
        _ body: (TestServer, LeanConnection) async throws -> Void
    ) async throws {
        let server = try await TestServer.start(maxConcurrentStreams: maxConcurrentStreams)
        let connection = try await server.connect()
        var failure: (any Error)?
        do { try await body(server, connection) } catch { failure = error }
        await connection.close()
        await server.stop()
        if let failure { throw failure }
    }

    /// A stream call that sends `requests`, half-closes and collects every response.
    static func stream(
        _ connection: LeanConnection, _ method: MethodDescriptor, _ requests: [Int64]
    ) async throws -> (responses: [Int64], end: (any Error)?) {
        let call = StreamCall(connection, method, as: Number.self)
        for value in requests { try call.send(Number(value)) }
        call.closeRequests()
        let (responses, end) = try await within(10, "the \(method.method) stream") { try await call.collect() }
        return (responses.map(\.value), end)
    }

    @Test func unaryCallRoundTrips() async throws {
        try await Self.withConnection { _, connection in
            let answers = try await within(10, "unary calls") {
                [try await Self.echo(connection, "hello"), try await Self.echo(connection, ""), try await Self.echo(connection, "ünïcödé")]
            }
            #expect(answers == ["hello", "", "ünïcödé"])
        }
    }

    @Test func errorStatusAndMessageReachTheCaller() async throws {
        try await Self.withConnection { _, connection in
            let message = "naïve 100% failure: retry later"
            let error = await Self.rpcError { _ = try await Self.echo(connection, "fail:" + message) }
            #expect(error?.code == TestService.failedPrecondition)
            #expect(error?.message == message)
            let unknown = await Self.rpcError {
                _ = try await connection.unary("/lean.test.Echo/Nope", Text("x"), as: Text.self)
            }
            #expect(unknown?.code == 12)
            #expect(unknown?.message == "unknown method Nope for service lean.test.Echo")
            // The connection still serves calls after failed ones.
            let after = try await Self.echo(connection, "after")
            #expect(after == "after")
        }
    }

    @Test func serverStreamingDeliversEveryResponseInOrder() async throws {
        try await Self.withConnection { _, connection in
            let (responses, end) = try await Self.stream(connection, TestService.count, [200])
            #expect(responses == Array(1...200))
            #expect(end == nil)
        }
    }

    @Test func streamFailingMidwayKeepsItsResponsesThenThrowsTheStatus() async throws {
        try await Self.withConnection { _, connection in
            let (responses, end) = try await Self.stream(connection, TestService.count, [-5])
            #expect(responses == [1, 2])
            let status = try #require(end as? LeanRPCError)
            #expect(status.code == TestService.aborted)
            #expect(status.message == "stopped at 3")
        }
    }

    @Test func clientStreamingAnswersOnceTheRequestsEnd() async throws {
        try await Self.withConnection { _, connection in
            let (responses, end) = try await Self.stream(connection, TestService.sum, Array(1...10))
            #expect(responses == [55])
            #expect(end == nil)
        }
    }

    @Test func bidirectionalStreamAnswersEachRequestBeforeTheNextIsSent() async throws {
        try await Self.withConnection { _, connection in
            let call = StreamCall(connection, TestService.double, as: Number.self)
            var iterator = call.batches.makeAsyncIterator()
            var answers: [Int64] = []
            for value in [3, 5, 7] as [Int64] {
                try call.send(Number(value))
                // One answer per request: the next request goes out only after it.
                let batch = try await iterator.next()
                answers += try (batch ?? []).map { try GRPCMessageBuffer.decode(Number.self, from: $0).value }
            }
            call.closeRequests()
            #expect(try await iterator.next() == nil, "the stream ends once the requests do")
            #expect(answers == [6, 10, 14])
        }
    }

    @Test func requestOverTheServersMessageLimitIsRefused() async throws {
        try await Self.withConnection { _, connection in
            let tooLarge = Text.big(2000)
            let error = await Self.rpcError {
                _ = try await connection.unary(TestService.path(TestService.echo), tooLarge, as: Text.self)
            }
            let size = try tooLarge.serializedBytes() as [UInt8]
            #expect(error?.code == 8)
            #expect(error?.message == "grpc: received message larger than max (\(size.count) vs. \(TestServer.maxMessageBytes))")
            // One just under the limit passes, on the same connection.
            let fits = Text.big(TestServer.maxMessageBytes - 10)
            #expect(try await connection.unary(TestService.path(TestService.echo), fits, as: Text.self) == fits)
        }
    }

    /// More calls at once than the server lets a connection open streams: the client queues
    /// the rest until streams close, and every call gets its own answer.
    @Test func concurrentCallsShareOneConnection() async throws {
        try await Self.withConnection(maxConcurrentStreams: 4) { _, connection in
            // The client learns the limit from the server's SETTINGS; one call makes sure it has.
            #expect(try await Self.echo(connection, "first") == "first")
            let answers = try await within(20, "100 concurrent calls") {
                try await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for index in 0..<100 {
                        group.addTask { (index, try await Self.echo(connection, "call \(index)")) }
                    }
                    return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
                }
            }
            #expect(answers.count == 100)
            #expect(answers.allSatisfy { $0.value == "call \($0.key)" })
        }
    }

    @Test func connectingToAClosedPortFails() async throws {
        // A port that was just bound and closed again: nothing listens there.
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(probe.localAddress?.port)
        try await probe.close()
        let outcome = try await within(10, "connecting to a closed port") { () async -> String in
            do {
                let connection = try await LeanConnection.connect(host: "127.0.0.1", port: port)
                await connection.close()
                return "connected"
            } catch {
                return "failed: \(error)"
            }
        }
        #expect(outcome.hasPrefix("failed: "), "\(outcome)")
    }

    @Test func closingTheConnectionFailsCallsInFlight() async throws {
        try await Self.withConnection { server, connection in
            let inFlight = Task {
                await Self.rpcError {
                    _ = try await connection.unary(TestService.path(TestService.hang), Google_Protobuf_Empty(), as: Google_Protobuf_Empty.self)
                }
            }
            let stream = StreamCall(connection, TestService.double, as: Number.self)
            try stream.send(Number(1))
            // Both calls have reached the server: the hanging call's handler runs, the stream answered.
            try await within(10, "the hanging call reaching its handler") {
                var hanging = server.hanging.makeAsyncIterator()
                _ = await hanging.next()
            }
            var answers = stream.batches.makeAsyncIterator()
            #expect(try await answers.next()?.count == 1)

            await connection.close()
            let error = try await within(10, "the in-flight call failing") { await inFlight.value }
            #expect(error?.code == 14)
            #expect(error?.message == "connection closed")
            let streamEnd = await Self.rpcError { while try await answers.next() != nil {} }
            #expect(streamEnd?.code == 14)
            // A call after the close fails at once too.
            let later = await Self.rpcError { _ = try await Self.echo(connection, "late") }
            #expect(later?.code == 14)
        }
    }
}
