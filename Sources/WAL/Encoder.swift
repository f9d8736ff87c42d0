import Checksum
import Raft

/// Frames records into one contiguous, reusable byte buffer, so that a whole batch reaches the
/// file with a single write. Encoding an entry costs no allocation once the buffer has grown
/// to the batch size.
final class RecordEncoder {
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    /// Bytes encoded since the last `reset()`.
    private(set) var count = 0

    /// Capacity kept across batches; a larger buffer (after an unusually large batch) is
    /// given back on `reset()`.
    private let retainedCapacity = 8 << 20

    init(initialCapacity: Int = 64 << 10) {
        capacity = max(initialCapacity, RecordLayout.alignment)
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: RecordLayout.alignment)
    }

    deinit { storage.deallocate() }

    /// The encoded bytes; valid until the next mutation.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    func reset() {
        count = 0
        if capacity > retainedCapacity {
            storage.deallocate()
            capacity = retainedCapacity
            storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: RecordLayout.alignment)
        }
    }

    private func reserve(_ extra: Int) {
        let needed = count + extra
        guard needed > capacity else { return }
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: RecordLayout.alignment)
        grown.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = grown
        capacity = newCapacity
    }

    /// Appends one framed record whose payload (`payloadSize` bytes) is written by `fill`.
    @inline(__always)
    private func append(_ type: RecordType, payloadSize: Int, fill: (UnsafeMutableRawPointer) -> Void) {
        let frame = RecordLayout.frameSize(payloadSize: payloadSize)
        reserve(frame)
        let record = storage + count
        let payload = record + RecordLayout.headerSize
        fill(payload)
        let padding = frame - RecordLayout.headerSize - payloadSize
        if padding > 0 { (payload + payloadSize).initializeMemory(as: UInt8.self, repeating: 0, count: padding) }

        let payloadCRC = CRC32C.checksum(UnsafeRawBufferPointer(start: payload, count: payloadSize))
        record.storeBytes(of: UInt32(RecordLayout.headerSize + payloadSize).littleEndian, as: UInt32.self)
        record.storeBytes(of: UInt32(type.rawValue).littleEndian, toByteOffset: 4, as: UInt32.self)
        record.storeBytes(of: payloadCRC.littleEndian, toByteOffset: 8, as: UInt32.self)
        let headerCRC = CRC32C.checksum(UnsafeRawBufferPointer(start: record, count: 12))
        record.storeBytes(of: headerCRC.littleEndian, toByteOffset: 12, as: UInt32.self)
        count += frame
    }

    func appendSegmentHeader(sequence: UInt64, firstIndex: UInt64) {
        append(.segmentHeader, payloadSize: RecordLayout.segmentHeaderPayloadSize) { p in
            p.storeBytes(of: RecordLayout.segmentMagic.littleEndian, as: UInt64.self)
            p.storeBytes(of: RecordLayout.formatVersion.littleEndian, toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
            p.storeBytes(of: sequence.littleEndian, toByteOffset: 16, as: UInt64.self)
            p.storeBytes(of: firstIndex.littleEndian, toByteOffset: 24, as: UInt64.self)
        }
    }

    func appendMetadata(_ metadata: [UInt8]) {
        append(.metadata, payloadSize: metadata.count) { p in
            metadata.withUnsafeBytes { source in
                if let base = source.baseAddress { p.copyMemory(from: base, byteCount: source.count) }
            }
        }
    }

    func appendEntry(_ entry: Entry) {
        append(.entry, payloadSize: RecordLayout.entryFixedPayloadSize + entry.data.count) { p in
            p.storeBytes(of: entry.term.littleEndian, as: UInt64.self)
            p.storeBytes(of: entry.index.littleEndian, toByteOffset: 8, as: UInt64.self)
            p.storeBytes(of: entry.type.rawValue, toByteOffset: 16, as: UInt8.self)
            entry.data.withUnsafeBytes { source in
                if let base = source.baseAddress {
                    (p + RecordLayout.entryFixedPayloadSize).copyMemory(from: base, byteCount: source.count)
                }
            }
        }
    }

    func appendHardState(_ state: HardState) {
        append(.hardState, payloadSize: RecordLayout.hardStatePayloadSize) { p in
            p.storeBytes(of: state.term.littleEndian, as: UInt64.self)
            p.storeBytes(of: state.vote.littleEndian, toByteOffset: 8, as: UInt64.self)
            p.storeBytes(of: state.commit.littleEndian, toByteOffset: 16, as: UInt64.self)
        }
    }

    func appendSnapshot(_ marker: SnapshotMarker) {
        append(.snapshot, payloadSize: RecordLayout.snapshotPayloadSize) { p in
            p.storeBytes(of: marker.index.littleEndian, as: UInt64.self)
            p.storeBytes(of: marker.term.littleEndian, toByteOffset: 8, as: UInt64.self)
        }
    }

    /// Frame size of an entry record, for deciding whether it still fits in a segment.
    static func frameSize(of entry: Entry) -> Int {
        RecordLayout.frameSize(payloadSize: RecordLayout.entryFixedPayloadSize + entry.data.count)
    }
}
