import EtcdProto
import EtcdServer
import Foundation
import GRPCCore
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import SwiftProtobuf
import Synchronization
import Testing

@testable import EtcdAPI
@testable import LeanGRPC

/// The gRPC server's frame handling, driven frame by frame: what a client sends, what the
/// server answers, in grpc-go's words where it fails before a handler runs.
@Suite struct GRPCServerConnectionTests {
    static let put = Etcdserverpb_KV.Method.Put.descriptor
    static let watch = Etcdserverpb_Watch.Method.Watch.descriptor
    static let range = Etcdserverpb_KV.Method.Range.descriptor
    static let raft = Swetcdpb_Peer.Method.Raft.descriptor
    /// The `to` of every Raft batch the on-loop method took, in arrival order.
    static let raftBatches = Mutex<[UInt64]>([])

    /// A put that answers with the key's length as the revision; an empty key fails like etcd.
    static func routes() -> GRPCRoutes {
        var routes = GRPCRoutes()
        routes.unary(put) { (request: Etcdserverpb_PutRequest) -> Etcdserverpb_PutResponse in
            if request.key.isEmpty { throw EtcdError.emptyKey }
            if request.key == Data("cancel".utf8) { throw EtcdError(.unavailable, "naïve 100% failure") }
            var response = Etcdserverpb_PutResponse()
            response.header.revision = Int64(request.key.count)
            return response
        }
        // Answers through a completion: at once on the event loop for a serializable range,
        // from another thread otherwise; a negative limit fails like etcd's validation.
        routes.unary(range) { (request: Etcdserverpb_RangeRequest, _, loop, respond: @escaping @Sendable (Result<Etcdserverpb_RangeResponse, EtcdError>) -> Void) in
            #expect(loop.inEventLoop)
            var response = Etcdserverpb_RangeResponse()
            response.count = Int64(request.key.count)
            if request.limit < 0 { return respond(.failure(EtcdError(.invalidArgument, "negative limit"))) }
            let answer = response
            if request.serializable {
                respond(.success(answer))
            } else {
                Thread.detachNewThread { respond(.success(answer)) }
            }
        }
        // Echoes each watch request's key back as a progress response's watch id, then ends.
        routes.streaming(watch) {
            (requests: GRPCRequestStream<Etcdserverpb_WatchRequest>, responses: GRPCResponseWriter<Etcdserverpb_WatchResponse>) in
            for try await request in requests {
                var response = Etcdserverpb_WatchResponse()
                response.watchID = Int64(request.createRequest.key.count)
                try await responses.write(response)
            }
        }
        // Takes Raft batches on the event loop; a batch from member 0 refuses the call.
        try! routes.clientStreamingOnLoop(raft, response: Swetcdpb_PeerAck()) { (batch: Swetcdpb_RaftBatch) in
            if batch.header.from == 0 { throw EtcdError(.permissionDenied, "no member 0") }
            raftBatches.withLock { $0.append(batch.header.to) }
        }
        return routes
    }

    final class Harness: Sendable {
        let channel = NIOAsyncTestingChannel()

        init(maxMessageBytes: Int = 1024, leaderKnown: Bool = true) async throws {
            let channel = self.channel
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(
                    GRPCServerConnection(
                        eventLoop: channel.eventLoop, routes: GRPCServerConnectionTests.routes(), maxMessageBytes: maxMessageBytes,
                        refusesLeaderRequiringCalls: { leaderKnown ? nil : GRPCStatus(EtcdError.noLeader) }))
            }.get()
        }

        func headers(_ stream: Int, path: String, extra: [(String, String)] = [], endStream: Bool = false) async throws {
            var headers: HPACKHeaders = [
                ":method": "POST", ":scheme": "http", ":path": path, "content-type": "application/grpc", "te": "trailers",
            ]
            for (name, value) in extra { headers.add(name: name, value: value) }
            try await channel.writeInbound(
                HTTP2Frame(streamID: HTTP2StreamID(stream), payload: .headers(.init(headers: headers, endStream: endStream))))
        }

        func data(_ stream: Int, _ bytes: ByteBuffer, endStream: Bool = false) async throws {
            try await channel.writeInbound(
                HTTP2Frame(streamID: HTTP2StreamID(stream), payload: .data(.init(data: .byteBuffer(bytes), endStream: endStream))))
        }

        func reset(_ stream: Int) async throws {
            try await channel.writeInbound(HTTP2Frame(streamID: HTTP2StreamID(stream), payload: .rstStream(.cancel)))
        }

        /// The next `count` frames the server sends (waiting a bounded time for handlers).
        func frames(_ count: Int) async throws -> [HTTP2Frame] {
            var frames: [HTTP2Frame] = []
            for _ in 0..<500 where frames.count < count {
                await channel.testingEventLoop.run()
                while frames.count < count, let frame = try await channel.readOutbound(as: HTTP2Frame.self) {
                    frames.append(frame)
                }
                if frames.count < count { try await Task.sleep(for: .milliseconds(10)) }
            }
            return frames
        }

        func finish() async throws {
            _ = try await channel.finish(acceptAlreadyClosed: true)
        }
    }

    static func framed(_ message: some SwiftProtobuf.Message) throws -> ByteBuffer {
        try GRPCMessageBuffer.framed(message)
    }

    static func putRequest(_ key: String) -> Etcdserverpb_PutRequest {
        var request = Etcdserverpb_PutRequest()
        request.key = Data(key.utf8)
        return request
    }

    static func headerFields(_ frame: HTTP2Frame) -> (fields: [String: String], endStream: Bool)? {
        guard case .headers(let payload) = frame.payload else { return nil }
        var fields: [String: String] = [:]
        for (name, value, _) in payload.headers { fields[name] = value }
        return (fields, payload.endStream)
    }

    static func message<M: SwiftProtobuf.Message>(_ type: M.Type, in frame: HTTP2Frame) throws -> M? {
        guard case .data(let payload) = frame.payload, case .byteBuffer(let bytes) = payload.data else { return nil }
        var decoded: [M] = []
        var reader = GRPCMessageReader()
        try reader.read(bytes) { decoded.append(try! GRPCMessageBuffer.decode(M.self, from: $0)) }
        return decoded.first
    }

    @Test func unaryCallAnswersHeadersMessageAndTrailers() async throws {
        let harness = try await Harness()
        try await harness.headers(1, path: "/etcdserverpb.KV/Put")
        try await harness.data(1, try Self.framed(Self.putRequest("abc")), endStream: true)
        let frames = try await harness.frames(3)
        try #require(frames.count == 3)
        #expect(Self.headerFields(frames[0])?.fields == [":status": "200", "content-type": "application/grpc"])
        #expect(try Self.message(Etcdserverpb_PutResponse.self, in: frames[1])?.header.revision == 3)
        let trailers = try #require(Self.headerFields(frames[2]))
        #expect(trailers.fields == ["grpc-status": "0"] && trailers.endStream)
        try await harness.finish()
    }

    @Test func completingMethodsAnswerFromTheLoopOrAnyThread() async throws {
        let harness = try await Harness()
        for (stream, serializable, limit) in [(1, true, 0), (3, false, 0), (5, true, -1)] {
            var request = Etcdserverpb_RangeRequest()
            request.key = Data("key\(stream)".utf8)
            request.serializable = serializable
            request.limit = Int64(limit)
            try await harness.headers(stream, path: "/etcdserverpb.KV/Range")
            try await harness.data(stream, try Self.framed(request), endStream: true)
        }
        let frames = try await harness.frames(7)
        for stream in [1, 3] {
            let mine = frames.filter { $0.streamID == HTTP2StreamID(stream) }
            try #require(mine.count == 3)
            #expect(try Self.message(Etcdserverpb_RangeResponse.self, in: mine[1])?.count == 4)
            #expect(Self.headerFields(mine[2])?.fields == ["grpc-status": "0"])
        }
        let failed = frames.first { $0.streamID == HTTP2StreamID(5) }.flatMap(Self.headerFields)
        #expect(failed?.fields["grpc-status"] == "3" && failed?.fields["grpc-message"] == "negative limit")
        try await harness.finish()
    }

    @Test func messageSplitAcrossDataFramesIsReassembled() async throws {
        let harness = try await Harness()
        var bytes = try Self.framed(Self.putRequest("split-key"))
        try await harness.headers(3, path: "/etcdserverpb.KV/Put")
        try await harness.data(3, bytes.readSlice(length: 3)!)
        try await harness.data(3, bytes.readSlice(length: 5)!)
        try await harness.data(3, bytes, endStream: true)
        let frames = try await harness.frames(3)
        #expect(try Self.message(Etcdserverpb_PutResponse.self, in: frames[1])?.header.revision == 9)
        try await harness.finish()
    }

    @Test func handlerErrorsKeepEtcdsCodeAndPercentEncodedText() async throws {
        let harness = try await Harness()
        try await harness.headers(1, path: "/etcdserverpb.KV/Put")
        try await harness.data(1, try Self.framed(Self.putRequest("")), endStream: true)
        try await harness.headers(3, path: "/etcdserverpb.KV/Put")
        try await harness.data(3, try Self.framed(Self.putRequest("cancel")), endStream: true)
        let frames = try await harness.frames(2)
        let byStream = Dictionary(uniqueKeysWithValues: frames.map { ($0.streamID, Self.headerFields($0)!) })
        let first = try #require(byStream[HTTP2StreamID(1)])
        #expect(first.endStream)
        #expect(first.fields["grpc-status"] == "3")
        #expect(first.fields["grpc-message"] == "etcdserver: key is not provided")
        #expect(first.fields[":status"] == "200", "a trailers-only response")
        let second = try #require(byStream[HTTP2StreamID(3)])
        #expect(second.fields["grpc-status"] == "14")
        #expect(second.fields["grpc-message"] == "na%C3%AFve 100%25 failure")
        #expect(GRPCMessageText.decode(second.fields["grpc-message"]!) == "naïve 100% failure")
        try await harness.finish()
    }

    @Test func unknownServiceAndMethodGetGRPCGosAnswers() async throws {
        let harness = try await Harness()
        try await harness.headers(1, path: "/etcdserverpb.Auth/Authenticate", endStream: false)
        try await harness.headers(3, path: "/etcdserverpb.KV/Nope", endStream: false)
        try await harness.headers(5, path: "nonsense", endStream: false)
        let frames = try await harness.frames(3)
        let messages = frames.map { Self.headerFields($0)?.fields["grpc-message"] }
        #expect(messages == ["unknown service etcdserverpb.Auth", "unknown method Nope for service etcdserverpb.KV",
                             "malformed method name: \"nonsense\""])
        #expect(frames.allSatisfy { Self.headerFields($0)?.fields["grpc-status"] == "12" })
        try await harness.finish()
    }

    @Test func oversizedMessageIsRefusedAsGRPCGoDoes() async throws {
        let harness = try await Harness(maxMessageBytes: 100)
        try await harness.headers(1, path: "/etcdserverpb.KV/Put")
        // Only the prefix of a 200-byte message arrives: the length alone decides.
        var prefix = ByteBuffer()
        prefix.writeInteger(UInt8(0))
        prefix.writeInteger(UInt32(200))
        try await harness.data(1, prefix)
        let frames = try await harness.frames(2)
        try #require(frames.count == 2)
        let trailers = try #require(Self.headerFields(frames[0]))
        #expect(trailers.fields["grpc-status"] == "8")
        #expect(trailers.fields["grpc-message"] == "grpc: received message larger than max (200 vs. 100)")
        guard case .rstStream(let code) = frames[1].payload else {
            Issue.record("expected a reset telling the client to stop sending, got \(frames[1].payload)")
            return
        }
        #expect(code == .noError)
        try await harness.finish()
    }

    @Test func compressedMessagesAndEncodingsAreRefused() async throws {
        let harness = try await Harness()
        try await harness.headers(1, path: "/etcdserverpb.KV/Put", extra: [("grpc-encoding", "gzip")])
        var compressed = try Self.framed(Self.putRequest("k"))
        compressed.setInteger(UInt8(1), at: compressed.readerIndex)
        try await harness.headers(3, path: "/etcdserverpb.KV/Put")
        try await harness.data(3, compressed, endStream: true)
        let frames = try await harness.frames(2)
        #expect(Self.headerFields(frames[0])?.fields["grpc-message"] == "grpc: Decompressor is not installed for grpc-encoding \"gzip\"")
        #expect(Self.headerFields(frames[1])?.fields["grpc-status"] == "13")
        try await harness.finish()
    }

    @Test func undecodableAndMissingRequestsAreInternalErrors() async throws {
        let harness = try await Harness()
        try await harness.headers(1, path: "/etcdserverpb.KV/Put")
        try await harness.data(1, GRPCMessageBuffer([0xFF, 0xFF, 0xFF]).buffer, endStream: true)
        try await harness.headers(3, path: "/etcdserverpb.KV/Put", endStream: true)
        let frames = try await harness.frames(2)
        let byStream = Dictionary(uniqueKeysWithValues: frames.map { ($0.streamID, Self.headerFields($0)!.fields) })
        #expect(byStream[HTTP2StreamID(1)]?["grpc-status"] == "13")
        #expect(byStream[HTTP2StreamID(1)]?["grpc-message"]?.hasPrefix("grpc: error unmarshalling request: ") == true)
        #expect(byStream[HTTP2StreamID(3)]?["grpc-message"] == "grpc: error unmarshalling request: EOF")
        try await harness.finish()
    }

    @Test func leaderRequiringCallsAreRefusedWithoutALeader() async throws {
        let harness = try await Harness(leaderKnown: false)
        try await harness.headers(1, path: "/etcdserverpb.KV/Put", extra: [("hasleader", "true")])
        try await harness.headers(3, path: "/etcdserverpb.KV/Put")
        try await harness.data(3, try Self.framed(Self.putRequest("ab")), endStream: true)
        let frames = try await harness.frames(4)
        let refused = try #require(frames.first { $0.streamID == HTTP2StreamID(1) }.flatMap(Self.headerFields))
        #expect(refused.fields["grpc-status"] == "14" && refused.fields["grpc-message"] == "etcdserver: no leader")
        #expect(frames.filter { $0.streamID == HTTP2StreamID(3) }.count == 3, "a call without the metadata is served")
        try await harness.finish()
    }

    @Test func streamingCallExchangesMessagesUntilTheClientCloses() async throws {
        let harness = try await Harness()
        try await harness.headers(1, path: "/etcdserverpb.Watch/Watch")
        for key in ["a", "bb"] {
            var request = Etcdserverpb_WatchRequest()
            request.createRequest.key = Data(key.utf8)
            try await harness.data(1, try Self.framed(request))
        }
        let answers = try await harness.frames(3)
        try #require(answers.count == 3)
        #expect(Self.headerFields(answers[0])?.fields[":status"] == "200")
        #expect(try Self.message(Etcdserverpb_WatchResponse.self, in: answers[1])?.watchID == 1)
        #expect(try Self.message(Etcdserverpb_WatchResponse.self, in: answers[2])?.watchID == 2)
        try await harness.data(1, ByteBuffer(), endStream: true)
        let end = try await harness.frames(1)
        #expect(end.first.flatMap(Self.headerFields)?.fields == ["grpc-status": "0"])
        try await harness.finish()
    }

    static func raftBatch(from: UInt64, to: UInt64) throws -> ByteBuffer {
        var batch = Swetcdpb_RaftBatch()
        batch.header.from = from
        batch.header.to = to
        return try framed(batch)
    }

    @Test func onLoopClientStreamTakesMessagesInOrderAndAnswersAtTheEnd() async throws {
        let harness = try await Harness()
        try await harness.headers(1, path: "/swetcdpb.Peer/Raft")
        // Two messages in one frame, a third split across two.
        var two = try Self.raftBatch(from: 1, to: 101)
        two.writeImmutableBuffer(try Self.raftBatch(from: 1, to: 102))
        try await harness.data(1, two)
        var third = try Self.raftBatch(from: 1, to: 103)
        try await harness.data(1, third.readSlice(length: 4)!)
        #expect(Self.raftBatches.withLock { $0 } == [101, 102], "each message handed on as it completes, nothing answered yet")
        try await harness.data(1, third)
        try await harness.data(1, ByteBuffer(), endStream: true)
        let frames = try await harness.frames(3)
        try #require(frames.count == 3)
        #expect(Self.raftBatches.withLock { $0 } == [101, 102, 103])
        #expect(Self.headerFields(frames[0])?.fields[":status"] == "200")
        #expect(try Self.message(Swetcdpb_PeerAck.self, in: frames[1]) != nil)
        #expect(Self.headerFields(frames[2])?.fields == ["grpc-status": "0"])

        // A message the method refuses ends the call with its status and resets the stream,
        // so the sender stops; what follows on that stream is not handed on.
        try await harness.headers(3, path: "/swetcdpb.Peer/Raft")
        var refused = try Self.raftBatch(from: 0, to: 201)
        refused.writeImmutableBuffer(try Self.raftBatch(from: 1, to: 202))
        try await harness.data(3, refused)
        let refusal = try await harness.frames(2)
        try #require(refusal.count == 2)
        let trailers = try #require(Self.headerFields(refusal[0]))
        #expect(trailers.endStream && trailers.fields["grpc-status"] == "7" && trailers.fields["grpc-message"] == "no member 0")
        guard case .rstStream = refusal[1].payload else {
            Issue.record("expected RST_STREAM after the refusal, got \(refusal[1])")
            return
        }
        #expect(Self.raftBatches.withLock { $0 } == [101, 102, 103])
        try await harness.finish()
    }

    @Test func resetStreamCancelsItsHandlerSilently() async throws {
        let harness = try await Harness()
        try await harness.headers(1, path: "/etcdserverpb.Watch/Watch")
        try await harness.reset(1)
        // Nothing is written for a stream the client reset; a later call still works.
        try await harness.headers(3, path: "/etcdserverpb.KV/Put")
        try await harness.data(3, try Self.framed(Self.putRequest("x")), endStream: true)
        let frames = try await harness.frames(3)
        #expect(frames.allSatisfy { $0.streamID == HTTP2StreamID(3) })
        try await harness.finish()
    }

    @Test func connectionWindowFollowsHTTP2sCountIncludingDroppedData() async throws {
        let harness = try await Harness()
        try await harness.channel.writeInbound(HTTP2Frame(streamID: .rootStream, payload: .settings(.settings([]))))
        let widened = try await harness.frames(1)
        guard case .windowUpdate(let first) = widened.first?.payload else {
            Issue.record("expected the connection window to be widened, got \(widened)")
            return
        }
        #expect(first == GRPCServerConnection.connectionWindow - 65535)
        // DATA for a stream NIOHTTP2 already closed never reaches the handler; only the
        // window event tells it the credit is gone.
        let remaining = GRPCServerConnection.connectionWindow / 2 - 1
        harness.channel.pipeline.fireUserInboundEventTriggered(
            NIOHTTP2WindowUpdatedEvent(streamID: .rootStream, inboundWindowSize: remaining, outboundWindowSize: nil))
        let topUp = try await harness.frames(1)
        guard case .windowUpdate(let increment) = topUp.first?.payload, topUp.first?.streamID == .rootStream else {
            Issue.record("expected a connection WINDOW_UPDATE, got \(topUp)")
            return
        }
        #expect(increment == GRPCServerConnection.connectionWindow - remaining)
        try await harness.finish()
    }

    @Test func grpcMessageTextRoundTrips() {
        for text in ["plain text", "100%", "naïve – ünïcode ✓", "line\nbreak", ""] {
            #expect(GRPCMessageText.decode(GRPCMessageText.encode(text)) == text)
        }
        #expect(GRPCMessageText.encode("a b") == "a b")
    }
}
