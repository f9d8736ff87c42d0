import EtcdClient
import NIOCore
import NIOEmbedded
import Testing

@Suite struct HTTP2ChatterFilterTests {
    /// An HTTP/2 frame: header then payload.
    func frame(type: UInt8, stream: UInt32, payload: [UInt8], flags: UInt8 = 0) -> [UInt8] {
        let length = payload.count
        var bytes: [UInt8] = [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags]
        bytes += [UInt8(stream >> 24 & 0xff), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
        return bytes + payload
    }

    func reset(stream: UInt32, code: UInt32) -> [UInt8] {
        frame(type: 3, stream: stream, payload: [UInt8(code >> 24), UInt8(code >> 16 & 0xff), UInt8(code >> 8 & 0xff), UInt8(code & 0xff)])
    }

    /// Feeds `input` in pieces cut at `cuts` and returns every byte that came out.
    func run(_ input: [UInt8], cuts: [Int]) throws -> [UInt8] {
        let channel = EmbeddedChannel(handler: HTTP2ChatterFilter())
        var start = 0
        for cut in cuts + [input.count] where cut > start {
            try channel.writeInbound(ByteBuffer(bytes: input[start..<cut]))
            start = cut
        }
        var output: [UInt8] = []
        while var buffer = try channel.readInbound(as: ByteBuffer.self) {
            output += buffer.readBytes(length: buffer.readableBytes)!
        }
        _ = try channel.finish()
        return output
    }

    @Test func dropsOnlyGracefulResets() throws {
        let settings = frame(type: 4, stream: 0, payload: [0, 3, 0, 0, 0, 100])
        let data = frame(type: 0, stream: 1, payload: Array(repeating: 7, count: 300), flags: 1)
        let graceful = reset(stream: 1, code: 0)
        let cancel = reset(stream: 3, code: 8)
        let headers = frame(type: 1, stream: 5, payload: [1, 2, 3])
        let input = settings + data + graceful + cancel + graceful + headers
        let expected = settings + data + cancel + headers
        #expect(try run(input, cuts: []) == expected)
        // Every way of cutting the stream into two reads, and byte by byte.
        for cut in 0...input.count {
            #expect(try run(input, cuts: [cut]) == expected, "cut at \(cut)")
        }
        #expect(try run(input, cuts: Array(0...input.count)) == expected)
    }

    @Test func countsWhatItDrops() throws {
        let filter = HTTP2ChatterFilter()
        let channel = EmbeddedChannel(handler: filter)
        try channel.writeInbound(ByteBuffer(bytes: reset(stream: 1, code: 0) + reset(stream: 3, code: 0)))
        #expect(filter.droppedResets == 2)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        _ = try channel.finish()
    }

    @Test func answersPingsAndPassesAcknowledgements() throws {
        let filter = HTTP2ChatterFilter()
        let channel = EmbeddedChannel(handler: filter)
        let payload: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        let ping = frame(type: 6, stream: 0, payload: payload)
        let ack = frame(type: 6, stream: 0, payload: payload, flags: 1)
        let data = frame(type: 0, stream: 1, payload: [9, 9], flags: 1)
        try channel.writeInbound(ByteBuffer(bytes: data + ping + ack))
        var passed: [UInt8] = []
        while var buffer = try channel.readInbound(as: ByteBuffer.self) {
            passed += buffer.readBytes(length: buffer.readableBytes)!
        }
        #expect(passed == data + ack)
        var answer = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(answer.readBytes(length: answer.readableBytes)! == ack)
        #expect(filter.answeredPings == 1)
        _ = try channel.finish()
    }
}
