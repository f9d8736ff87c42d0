import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import EtcdAPI

/// What one HTTP/1.1 client may hold of the server: bodies refused as soon as they pass the
/// limit, stalled requests and idle connections closed. Time is the testing event loop's,
/// advanced by hand: nothing waits for a wall clock.
@Suite struct HTTPLimitsTests {
    /// etcd's default gRPC receive limit: `--max-request-bytes` 1.5 MiB plus 512 KiB.
    static let etcdMessageLimit = 2_097_152

    /// One connection through the same handlers the client port uses, with an echo router.
    final class Harness: Sendable {
        let channel = NIOAsyncTestingChannel()
        let limits: HTTPLimits

        init(limits: HTTPLimits) async throws {
            self.limits = limits
            let channel = self.channel
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandlers([
                    ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)),
                    HTTPResponseEncoder(),
                    HTTPServerPipelineHandler(),
                    HTTPConnectionHandler(limits: limits) { request in
                        .complete(.text("got \(request.body.readableBytes) bytes\n"))
                    },
                ])
            }.get()
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2379)).get()
        }

        func send(_ text: String) async throws {
            try await channel.writeInbound(ByteBuffer(string: text))
        }

        /// Everything the server wrote so far.
        func received() async throws -> String {
            await channel.testingEventLoop.run()
            var text = ""
            while let part = try await channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = part { text += String(buffer: buffer) }
            }
            return text
        }

        /// What the server wrote until `text` appears in it (the router answers on a task);
        /// gives up after a generous deadline.
        func received(until text: String) async throws -> String {
            var answer = ""
            let deadline = ContinuousClock.now + .seconds(30)
            while !answer.contains(text), ContinuousClock.now < deadline {
                answer += try await received()
                if !answer.contains(text) { try await Task.sleep(for: .milliseconds(5)) }
            }
            return answer
        }

        func advance(by amount: TimeAmount) async {
            await channel.testingEventLoop.advanceTime(by: amount)
        }

        var isOpen: Bool { channel.isActive }
    }

    static func head(path: String = "/v3/kv/put", contentLength: Int?) -> String {
        "POST \(path) HTTP/1.1\r\nHost: localhost\r\n"
            + (contentLength.map { "Content-Length: \($0)\r\n" } ?? "Transfer-Encoding: chunked\r\n") + "\r\n"
    }

    /// `--max-request-bytes` takes any uint64; the body limit derived from it saturated
    /// instead of overflowing.
    @Test func theLargestMessageLimitDoesNotOverflowTheBodyLimit() {
        #expect(HTTPLimits(maxMessageBytes: .max).maxBodyBytes == .max)
        #expect(HTTPLimits(maxMessageBytes: 3).maxBodyBytes == 4)
    }

    @Test func stalledHalfSentBodyIsClosedAfterTheRequestTimeout() async throws {
        let harness = try await Harness(
            limits: HTTPLimits(maxMessageBytes: Self.etcdMessageLimit, requestTimeout: .seconds(5), idleTimeout: .seconds(60)))
        try await harness.send(Self.head(contentLength: 1000) + String(repeating: "x", count: 500))
        await harness.advance(by: .milliseconds(4900))
        #expect(harness.isOpen, "closed before the request timeout")
        await harness.advance(by: .milliseconds(100))
        #expect(!harness.isOpen, "a stalled request is still held after the request timeout")
    }

    @Test func slowlorisHeadIsClosedAfterTheRequestTimeout() async throws {
        let harness = try await Harness(
            limits: HTTPLimits(maxMessageBytes: Self.etcdMessageLimit, requestTimeout: .seconds(5), idleTimeout: .seconds(60)))
        try await harness.send("POST /v3/kv/put HTTP/1.1\r\nHost: local")
        await harness.advance(by: .seconds(4))
        try await harness.send("host\r\nX-Slow: 1\r\n")  // trickling bytes does not restart the clock
        await harness.advance(by: .seconds(1))
        #expect(!harness.isOpen)
    }

    @Test func idleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        let harness = try await Harness(
            limits: HTTPLimits(maxMessageBytes: Self.etcdMessageLimit, requestTimeout: .seconds(5), idleTimeout: .seconds(20)))
        try await harness.send(Self.head(contentLength: 2) + "{}")
        let answer = try await harness.received(until: "got 2 bytes")
        #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
        // Answered: the request timeout no longer applies, the idle timeout does.
        await harness.advance(by: .seconds(19))
        #expect(harness.isOpen)
        await harness.advance(by: .seconds(1))
        #expect(!harness.isOpen)
    }

    @Test func declaredBodyPastTheLimitIsRefusedBeforeItIsSent() async throws {
        let harness = try await Harness(limits: HTTPLimits(maxMessageBytes: Self.etcdMessageLimit))
        // etcd answers a 10 MB put through its gateway with gRPC's ResourceExhausted: 429.
        let declared = 13_333_364
        try await harness.send(Self.head(contentLength: declared))
        let answer = try await harness.received()
        #expect(answer.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"), "\(answer)")
        let message = "grpc: received message larger than max (\(declared) vs. \(Self.etcdMessageLimit))"
        #expect(answer.hasSuffix(#"{"error":"\#(message)","message":"\#(message)","code":8}"#), "\(answer)")
        #expect(!harness.isOpen, "the connection stays open for a body that will not be read")
    }

    @Test func streamedBodyIsRefusedOnceItPassesTheLimit() async throws {
        let limits = HTTPLimits(maxMessageBytes: 3000)
        let harness = try await Harness(limits: limits)
        try await harness.send(Self.head(contentLength: nil))
        let chunk = String(repeating: "x", count: 1000)
        var sent = 0
        var answer = ""
        while harness.isOpen, sent < 10 * limits.maxBodyBytes {
            try await harness.send(String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n")
            sent += chunk.utf8.count
            answer += try await harness.received()
        }
        #expect(sent > limits.maxBodyBytes && sent <= limits.maxBodyBytes + chunk.utf8.count)
        #expect(answer.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"), "\(answer)")
        #expect(answer.contains("grpc: received message larger than max (\(sent) vs. 3000)"), "\(answer)")
    }

    @Test func bodyWithinTheLimitIsServed() async throws {
        let limits = HTTPLimits(maxMessageBytes: 3000)
        let harness = try await Harness(limits: limits)
        let body = String(repeating: "x", count: limits.maxBodyBytes)
        try await harness.send(Self.head(contentLength: body.utf8.count) + body)
        let answer = try await harness.received(until: "bytes\n")
        #expect(answer.contains("got \(limits.maxBodyBytes) bytes"), "\(answer)")
    }

    /// A connection that never sends the bytes telling gRPC from HTTP/1.1 is closed too.
    @Test func silentConnectionIsClosedBeforeItsProtocolIsKnown() async throws {
        let channel = NIOAsyncTestingChannel()
        try await channel.pipeline.addHandler(
            ProtocolSniffer(timeout: .seconds(120), makeHTTP2Handlers: { [] }, makeHTTP1Handlers: { [] }))
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2379)).get()
        try await channel.writeInbound(ByteBuffer(string: "PRI * HTTP/2.0\r\n"))  // a prefix of the preface
        await channel.testingEventLoop.advanceTime(by: .seconds(119))
        #expect(channel.isActive)
        await channel.testingEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }
}
