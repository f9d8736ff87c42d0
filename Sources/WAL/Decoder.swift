import Checksum
/// Why a record could not be read.
enum RecordDamage: Equatable, CustomStringConvertible {
    /// Fewer than a header's worth of bytes remain and they are not all zero.
    case truncatedHeader
    /// The header's own checksum does not match: its length or type cannot be trusted.
    case badHeaderChecksum
    /// The header is intact but claims a frame shorter than a header.
    case badLength(Int)
    /// The header is intact but the record extends beyond the end of the file.
    case truncatedPayload(frameLength: Int, available: Int)
    /// The header is intact but the payload's checksum does not match.
    case badPayloadChecksum
    /// A zero length (end of data) followed by bytes that are not zero.
    case dataAfterEnd

    var description: String {
        switch self {
        case .truncatedHeader: "incomplete record header"
        case .badHeaderChecksum: "record header checksum mismatch"
        case .badLength(let length): "impossible record length \(length)"
        case .truncatedPayload(let length, let available):
            "record of \(length) bytes but only \(available) bytes remain in the file"
        case .badPayloadChecksum: "record payload checksum mismatch"
        case .dataAfterEnd: "non-zero bytes after the end-of-data marker"
        }
    }
}

/// Walks the records of one segment held in memory, validating each frame.
struct RecordScanner {
    enum Step {
        /// A valid record; `payload` points into the scanned bytes.
        case record(type: UInt8, payload: UnsafeRawBufferPointer)
        /// End of data: everything from the current offset to the end of the bytes is zero.
        case end
        /// The bytes at the current offset are not a valid record. `resumeAt` is the first
        /// offset that could not belong to the damaged record (as far as its header can be
        /// trusted), where a search for later valid records may start.
        case damaged(RecordDamage, resumeAt: Int)
    }

    let bytes: UnsafeRawBufferPointer
    /// Offset of the next record; only advances past valid records.
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Reads the record at `offset` and, if it is valid, advances past it.
    mutating func next() -> Step {
        let start = offset
        let available = bytes.count - start
        if available <= 0 { return .end }
        if available < RecordLayout.headerSize {
            return lastNonZero(from: start) == nil ? .end : .damaged(.truncatedHeader, resumeAt: bytes.count)
        }
        let length = Int(bytes.u32(at: start))
        if length == 0 {
            return lastNonZero(from: start) == nil ? .end : .damaged(.dataAfterEnd, resumeAt: start + RecordLayout.alignment)
        }
        guard headerIsValid(at: start) else {
            return .damaged(.badHeaderChecksum, resumeAt: start + RecordLayout.alignment)
        }
        guard length >= RecordLayout.headerSize else {
            return .damaged(.badLength(length), resumeAt: start + RecordLayout.alignment)
        }
        guard length <= available else {
            return .damaged(.truncatedPayload(frameLength: length, available: available), resumeAt: bytes.count)
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[(start + RecordLayout.headerSize)..<(start + length)])
        let frame = RecordLayout.frameSize(payloadSize: payload.count)
        guard CRC32C.checksum(payload) == bytes.u32(at: start + 8) else {
            return .damaged(.badPayloadChecksum, resumeAt: start + frame)
        }
        offset = start + frame
        return .record(type: bytes.load(fromByteOffset: start + 4, as: UInt8.self), payload: payload)
    }

    @inline(__always)
    private func headerIsValid(at start: Int) -> Bool {
        let header = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + 12)])
        return CRC32C.checksum(header) == bytes.u32(at: start + 12)
    }

    /// True if a complete, valid record starts at `start`.
    func isValidRecord(at start: Int) -> Bool {
        guard start + RecordLayout.headerSize <= bytes.count else { return false }
        let length = Int(bytes.u32(at: start))
        guard length >= RecordLayout.headerSize, start + length <= bytes.count, headerIsValid(at: start) else {
            return false
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[(start + RecordLayout.headerSize)..<(start + length)])
        return CRC32C.checksum(payload) == bytes.u32(at: start + 8)
    }

    /// The offset of the first valid record at an aligned offset `>= from`, if any. A valid
    /// record after a damaged one means the damage is not a torn write at the end of the log.
    func firstValidRecord(from: Int) -> Int? {
        var position = (from + RecordLayout.alignment - 1) & ~(RecordLayout.alignment - 1)
        let last = bytes.count - RecordLayout.headerSize
        while position <= last {
            // Unused space is zero; skip it without computing checksums.
            if bytes.u32(at: position) != 0, isValidRecord(at: position) { return position }
            position += RecordLayout.alignment
        }
        return nil
    }

    /// Whether `damage` to the record at `start` can be a write that was interrupted, as
    /// opposed to a record that was written whole and changed afterwards. Disks write a
    /// 512-byte sector at a time and the log is appended into zeroed space, so a torn record
    /// either runs past the end of the file or has a sector-sized piece that is still all
    /// zero; a record with every piece written but a bad checksum is corruption (etcd's
    /// `isTornEntry` draws the same line).
    func isTornWrite(_ damage: RecordDamage, at start: Int) -> Bool {
        switch damage {
        case .truncatedHeader, .truncatedPayload, .dataAfterEnd:
            return true
        case .badLength:
            return false
        case .badHeaderChecksum:
            // The length can't be trusted: only the header's own sectors can be checked.
            return hasUnwrittenSector(start..<(start + RecordLayout.headerSize))
        case .badPayloadChecksum:
            return hasUnwrittenSector(start..<(start + Int(bytes.u32(at: start))))
        }
    }

    /// Whether a piece of `range` between two sector boundaries (or the range's ends) is all zero.
    private func hasUnwrittenSector(_ range: Range<Int>) -> Bool {
        var pieceStart = range.lowerBound
        while pieceStart < range.upperBound {
            let boundary = (pieceStart / RecordLayout.sectorSize + 1) * RecordLayout.sectorSize
            let pieceEnd = min(boundary, range.upperBound)
            if bytes[pieceStart..<pieceEnd].allSatisfy({ $0 == 0 }) { return true }
            pieceStart = pieceEnd
        }
        return false
    }

    /// The offset of the last non-zero byte at or after `from`, or nil if there is none.
    func lastNonZero(from: Int) -> Int? {
        var position = bytes.count
        // Single bytes down to an 8-byte boundary, then whole words, then the bytes before.
        while position > from, position & 7 != 0 {
            position -= 1
            if bytes[position] != 0 { return position }
        }
        while position - 8 >= from {
            if bytes.loadUnaligned(fromByteOffset: position - 8, as: UInt64.self) != 0 {
                for candidate in stride(from: position - 1, through: position - 8, by: -1) where bytes[candidate] != 0 {
                    return candidate
                }
            }
            position -= 8
        }
        while position > from {
            position -= 1
            if bytes[position] != 0 { return position }
        }
        return nil
    }
}
