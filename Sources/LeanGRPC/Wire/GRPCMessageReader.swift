import NIOCore

/// Splits the gRPC messages (a compression flag, a 32-bit length, the bytes) out of a
/// stream's DATA frames, whose boundaries need not match the messages'.
public struct GRPCMessageReader {
    /// Why a stream's bytes are not acceptable.
    public enum Failure: Error, Equatable {
        /// The compressed flag is set; no compression was negotiated.
        case compressed
        /// A message announced more bytes than the receiver accepts.
        case tooLarge(length: Int, limit: Int)
    }

    /// The largest message accepted, in bytes.
    public let maxMessageBytes: Int
    private var partial: ByteBuffer?

    public init(maxMessageBytes: Int = .max) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Whether a message has started but not all of its bytes arrived.
    public var hasPartialMessage: Bool { partial.map { $0.readableBytes > 0 } ?? false }

    /// Takes the next bytes of the stream and hands every message they complete to
    /// `deliver`, in order, as a slice without the prefix.
    public mutating func read(_ bytes: ByteBuffer, deliver: (ByteBuffer) -> Void) throws(Failure) {
        var bytes = bytes
        if var earlier = partial {
            earlier.writeBuffer(&bytes)
            bytes = earlier
            partial = nil
        }
        while bytes.readableBytes >= GRPCMessageBuffer.prefixLength {
            let start = bytes.readerIndex
            let length = Int(bytes.getInteger(at: start + 1, as: UInt32.self)!)
            if bytes.getInteger(at: start, as: UInt8.self) != 0 { throw .compressed }
            if length > maxMessageBytes { throw .tooLarge(length: length, limit: maxMessageBytes) }
            guard bytes.readableBytes >= GRPCMessageBuffer.prefixLength + length else { break }
            bytes.moveReaderIndex(forwardBy: GRPCMessageBuffer.prefixLength)
            deliver(bytes.readSlice(length: length)!)
        }
        if bytes.readableBytes > 0 { partial = bytes }
    }
}
