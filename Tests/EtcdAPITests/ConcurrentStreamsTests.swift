import NIOCore
import NIOEmbedded
import NIOHTTP2
import Testing

@testable import LeanGRPC

/// `--max-concurrent-streams`: the gRPC port advertises the limit in its SETTINGS and does not
/// let a client that ignores it open more. The client here writes raw HTTP/2 frames, so that
/// it can break the limit (swift-nio-http2's own client would not).
@Suite struct ConcurrentStreamsTests {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum FrameType: UInt8 {
        case headers = 1, rstStream = 3, settings = 4, goAway = 7
    }

    struct Frame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]
    }

    static func encode(_ type: FrameType, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type.rawValue, flags]
            + bigEndian(stream) + payload
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func uint32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A gRPC call's request headers, HPACK literals without indexing; END_HEADERS only, so
    /// the stream stays open.
    static func callHeaders(stream: UInt32) -> [UInt8] {
        let fields = [
            (":method", "POST"), (":scheme", "http"), (":path", "/etcdserverpb.KV/Put"), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers"),
        ]
        let block = fields.flatMap { name, value -> [UInt8] in
            [0x00, UInt8(name.utf8.count)] + Array(name.utf8) + [UInt8(value.utf8.count)] + Array(value.utf8)
        }
        return encode(.headers, flags: 0x4, stream: stream, payload: block)
    }

    static func decode(_ bytes: [UInt8]) -> [Frame] {
        var frames: [Frame] = []
        var offset = 0
        while offset + 9 <= bytes.count {
            let length = Int(uint32([0] + bytes[offset..<(offset + 3)]))
            guard offset + 9 + length <= bytes.count else { break }
            frames.append(
                Frame(
                    type: bytes[offset + 3], flags: bytes[offset + 4],
                    stream: uint32(bytes[(offset + 5)..<(offset + 9)]) & 0x7FFF_FFFF,
                    payload: Array(bytes[(offset + 9)..<(offset + 9 + length)])))
            offset += 9 + length
        }
        return frames
    }

    /// Connects a raw client that acknowledges the server's SETTINGS and opens `streams`
    /// calls; returns every frame the server wrote.
    static func open(_ streams: Int, limit: Int) async throws -> [Frame] {
        let channel = NIOAsyncTestingChannel()
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandlers(
                GRPCServerConnection.handlers(
                    on: channel, routes: GRPCServerConnectionTests.routes(), maxMessageBytes: 1024, maxConcurrentStreams: limit))
        }.get()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2379)).get()
        var client = preface + encode(.settings) + encode(.settings, flags: 0x1)
        for index in 0..<streams { client += callHeaders(stream: UInt32(2 * index + 1)) }
        try await channel.writeInbound(ByteBuffer(bytes: client))
        await channel.testingEventLoop.run()
        var written: [UInt8] = []
        while let part = try await channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = part { written += buffer.readableBytesView }
        }
        _ = try? await channel.finish(acceptAlreadyClosed: true)
        return decode(written)
    }

    static func refusals(_ frames: [Frame]) -> [Frame] {
        frames.filter { $0.type == FrameType.rstStream.rawValue || $0.type == FrameType.goAway.rawValue }
    }

    @Test func streamPastTheAdvertisedLimitIsRefused() async throws {
        let limit = 10
        let frames = try await Self.open(limit, limit: limit)
        let settings = try #require(frames.first { $0.type == FrameType.settings.rawValue && $0.flags & 0x1 == 0 })
        let advertised = stride(from: 0, to: settings.payload.count, by: 6).compactMap { offset -> UInt32? in
            let id = Self.uint32(settings.payload[offset..<(offset + 2)])
            return id == 0x3 ? Self.uint32(settings.payload[(offset + 2)..<(offset + 6)]) : nil
        }
        #expect(advertised == [UInt32(limit)], "SETTINGS_MAX_CONCURRENT_STREAMS")
        #expect(Self.refusals(frames).isEmpty, "streams within the limit were refused")

        // One more than advertised: swift-nio-http2 treats it as a connection error.
        let refusal = try #require(Self.refusals(try await Self.open(limit + 1, limit: limit)).first, "stream \(2 * limit + 1) was accepted")
        #expect(refusal.type == FrameType.goAway.rawValue)
        #expect(Self.uint32(refusal.payload[4..<8]) == 0x1, "GOAWAY's error code (PROTOCOL_ERROR)")
    }
}
