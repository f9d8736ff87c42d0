import NIOCore
import SwiftProtobuf

/// Bytes of one gRPC message in a `ByteBuffer`, with room for the 5-byte gRPC message
/// prefix in front: SwiftProtobuf serializes straight into it and decodes straight from
/// it, so a message costs one allocation and no copy on its way to or from the socket.
public struct GRPCMessageBuffer: SwiftProtobufContiguousBytes {
    /// Length of the gRPC message prefix: a compression flag and a 32-bit length.
    public static let prefixLength = 5

    /// The prefix (when built for sending) followed by the message.
    public private(set) var buffer: ByteBuffer
    /// Where the message starts in `buffer`.
    private let messageStart: Int

    /// Wraps a received message (no prefix).
    public init(received: ByteBuffer) {
        buffer = received
        messageStart = received.readerIndex
    }

    public init(repeating byte: UInt8, count: Int) {
        var buffer = ByteBufferAllocator().buffer(capacity: Self.prefixLength + count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(count))
        buffer.writeRepeatingByte(byte, count: count)
        self.buffer = buffer
        messageStart = buffer.readerIndex + Self.prefixLength
    }

    public init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        let bytes = Array(sequence)
        self.init(repeating: 0, count: bytes.count)
        buffer.setBytes(bytes, at: messageStart)
    }

    public var count: Int { buffer.writerIndex - messageStart }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[(messageStart - buffer.readerIndex)...]))
        }
    }

    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        let offset = messageStart - buffer.readerIndex
        return try buffer.withUnsafeMutableReadableBytes { all in
            try body(UnsafeMutableRawBufferPointer(rebasing: all[offset...]))
        }
    }

    /// The message serialized with its gRPC prefix, ready to send.
    @inlinable
    public static func framed(_ message: some SwiftProtobuf.Message) throws -> ByteBuffer {
        let bytes: GRPCMessageBuffer = try message.serializedBytes()
        return bytes.buffer
    }

    /// How deeply messages may nest in a received request. Go's protobuf allows 10,000;
    /// SwiftProtobuf's default of 100 would refuse an etcd txn nested 50 levels deep, which
    /// etcd accepts. Each txn level is two messages (RequestOp, TxnRequest), so this admits
    /// txns nested about 250 levels deep while keeping decode recursion well inside a
    /// thread's stack.
    public static let maxMessageDepth = 512

    /// The options every received message is decoded with.
    public static let decodingOptions: BinaryDecodingOptions = {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = maxMessageDepth
        return options
    }()

    /// Decodes a received message body.
    @inlinable
    public static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from body: ByteBuffer) throws -> M {
        try M(serializedBytes: GRPCMessageBuffer(received: body), options: decodingOptions)
    }
}
