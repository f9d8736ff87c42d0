import Raft

// On-disk record framing. Every record starts at an 8-byte aligned offset of its segment:
//
//   0  u32  frame length: header + payload, without padding (never 0; 0 = unused space)
//   4  u8   record type (RecordType)
//   5  3×0  reserved
//   8  u32  CRC-32C of the payload
//  12  u32  CRC-32C of bytes 0..<12 (so a damaged length or type is caught before it is used)
//  16       payload, then zero padding up to the next multiple of 8
//
// All integers are little-endian. Payloads by type:
//   segmentHeader  magic u64, format version u32, reserved u32, sequence u64, first index u64
//   metadata       the opaque metadata blob given to `WAL.create`
//   entry          term u64, index u64, entry type u8, data
//   hardState      term u64, vote u64, commit u64
//   snapshot       index u64, term u64

/// What a record holds.
enum RecordType: UInt8 {
    /// First record of every segment: identifies the file and the format version.
    case segmentHeader = 1
    /// The opaque metadata blob; repeated after the header of every segment.
    case metadata = 2
    case entry = 3
    case hardState = 4
    /// A snapshot marker: the log before it may be replaced by the snapshot at {index, term}.
    case snapshot = 5
}

/// Sizes and offsets of the record framing.
enum RecordLayout {
    static let headerSize = 16
    static let alignment = 8
    /// The unit a disk writes atomically (the smallest in use); a torn write loses whole sectors.
    static let sectorSize = 512
    /// Upper bound for one record; protects the reader against absurd lengths.
    static let maxFrameLength = Int(UInt32.max)

    static let segmentMagic: UInt64 = 0x4C57_4443_5445_5753  // "SWETCDWL" read as little-endian
    static let formatVersion: UInt32 = 1

    static let segmentHeaderPayloadSize = 32
    static let entryFixedPayloadSize = 17
    static let hardStatePayloadSize = 24
    static let snapshotPayloadSize = 16

    /// The bytes a record with `payloadSize` bytes of payload occupies, padding included.
    @inline(__always)
    static func frameSize(payloadSize: Int) -> Int {
        (headerSize + payloadSize + alignment - 1) & ~(alignment - 1)
    }
}

/// The position of a snapshot in the log: every entry up to `index` is contained in the
/// snapshot taken at `index` (whose last entry had `term`).
///
/// `WAL.saveSnapshot(_:)` records one; `WAL.open(directory:snapshot:)` starts reading at one.
/// The WAL knows nothing else about snapshots (their data lives in snap files).
public struct SnapshotMarker: Sendable, Hashable, CustomStringConvertible {
    public var index: UInt64
    public var term: UInt64

    public init(index: UInt64, term: UInt64) {
        self.index = index
        self.term = term
    }

    /// The marker of the snapshot described by `metadata`.
    public init(_ metadata: SnapshotMetadata) {
        self.init(index: metadata.index, term: metadata.term)
    }

    /// The beginning of the log, recorded by `WAL.create`.
    public static let origin = SnapshotMarker(index: 0, term: 0)

    public var description: String { "{index: \(index), term: \(term)}" }
}

/// Decoding of fixed-layout payloads; the encoder writes the same layouts.
extension UnsafeRawBufferPointer {
    @inline(__always)
    func u64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    func u32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}

/// A segment header as read back from disk.
struct SegmentHeader: Equatable {
    var sequence: UInt64
    var firstIndex: UInt64

    /// Nil when the payload is not a header this version understands; `problem` says why.
    static func decode(_ payload: UnsafeRawBufferPointer) -> (SegmentHeader?, problem: String) {
        guard payload.count == RecordLayout.segmentHeaderPayloadSize else {
            return (nil, "segment header has \(payload.count) bytes, expected \(RecordLayout.segmentHeaderPayloadSize)")
        }
        guard payload.u64(at: 0) == RecordLayout.segmentMagic else {
            return (nil, "not a swetcd WAL segment (bad magic number)")
        }
        let version = payload.u32(at: 8)
        guard version == RecordLayout.formatVersion else {
            return (nil, "unsupported WAL format version \(version) (this build reads version \(RecordLayout.formatVersion))")
        }
        return (SegmentHeader(sequence: payload.u64(at: 16), firstIndex: payload.u64(at: 24)), "")
    }
}

extension HardState {
    static func decodeWAL(_ payload: UnsafeRawBufferPointer) -> HardState? {
        guard payload.count == RecordLayout.hardStatePayloadSize else { return nil }
        return HardState(term: payload.u64(at: 0), vote: payload.u64(at: 8), commit: payload.u64(at: 16))
    }
}

extension SnapshotMarker {
    static func decodeWAL(_ payload: UnsafeRawBufferPointer) -> SnapshotMarker? {
        guard payload.count == RecordLayout.snapshotPayloadSize else { return nil }
        return SnapshotMarker(index: payload.u64(at: 0), term: payload.u64(at: 8))
    }
}

extension Entry {
    /// Decodes an entry payload; nil if it is too short or names an unknown entry type.
    static func decodeWAL(_ payload: UnsafeRawBufferPointer) -> Entry? {
        let fixed = RecordLayout.entryFixedPayloadSize
        guard payload.count >= fixed,
              let type = EntryType(rawValue: payload.load(fromByteOffset: 16, as: UInt8.self))
        else { return nil }
        let dataCount = payload.count - fixed
        let data: [UInt8]
        if dataCount == 0 {
            data = []
        } else {
            data = [UInt8](unsafeUninitializedCapacity: dataCount) { buffer, initialized in
                buffer.baseAddress!.initialize(
                    from: payload.baseAddress!.advanced(by: fixed).assumingMemoryBound(to: UInt8.self),
                    count: dataCount)
                initialized = dataCount
            }
        }
        return Entry(term: payload.u64(at: 0), index: payload.u64(at: 8), type: type, data: data)
    }
}
