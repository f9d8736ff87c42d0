/// Compact, versioned binary encoding of the Raft messages and membership changes that travel
/// between peers and into the log.
///
/// Every encoding starts with two bytes: the format version (currently 1) and a kind tag
/// (1 = `Message`, 2 = `ConfChange`, 3 = `ConfChangeV2`). Integers are unsigned LEB128 varints,
/// byte strings and lists are prefixed with their varint length. Decoders accept every version up
/// to `codecVersion` and reject unknown versions, unknown kinds, unknown enum values, truncated
/// input and trailing bytes, so a corrupted frame never turns into a plausible value.
public let codecVersion: UInt8 = 1

/// Why bytes could not be decoded.
public enum CodecError: Error, Sendable, Hashable {
    /// The input ended in the middle of a value.
    case truncated
    /// The version byte is newer than this decoder (or zero).
    case unsupportedVersion(UInt8)
    /// The kind tag names a different type than the one being decoded.
    case wrongKind(expected: UInt8, found: UInt8)
    /// A field holds a value outside its domain (an unknown enum case, an oversized varint, …).
    case invalidValue(String)
    /// Bytes were left over after the value.
    case trailingBytes(Int)
}

enum CodecKind: UInt8 {
    case message = 1
    case confChange = 2
    case confChangeV2 = 3
}

/// Appends encoded values to a byte array.
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func header(_ kind: CodecKind) {
        bytes.append(codecVersion)
        bytes.append(kind.rawValue)
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func blob(_ b: [UInt8]) {
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    mutating func ids(_ list: [UInt64]) {
        varint(UInt64(list.count))
        for id in list { varint(id) }
    }

    static func varintSize(_ value: UInt64) -> Int {
        var v = value
        var n = 1
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }
}

/// Reads encoded values from a byte slice, failing on malformed input.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    var pos: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        pos = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - pos }

    mutating func header(_ kind: CodecKind) throws(CodecError) {
        let version = try u8()
        guard version >= 1 && version <= codecVersion else { throw .unsupportedVersion(version) }
        let found = try u8()
        guard found == kind.rawValue else { throw .wrongKind(expected: kind.rawValue, found: found) }
    }

    mutating func u8() throws(CodecError) -> UInt8 {
        guard pos < bytes.endIndex else { throw .truncated }
        defer { pos += 1 }
        return bytes[pos]
    }

    mutating func varint() throws(CodecError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            if shift == 63 && b > 1 { throw .invalidValue("varint overflows 64 bits") }
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw .invalidValue("varint longer than 10 bytes") }
        }
    }

    /// A length or count that must fit in what is left of the input (each item is at least
    /// `minItemSize` bytes), so garbage cannot ask for a huge allocation.
    mutating func count(minItemSize: Int) throws(CodecError) -> Int {
        let n = try varint()
        guard n <= UInt64(remaining / max(minItemSize, 1)) else { throw .truncated }
        return Int(n)
    }

    mutating func blob() throws(CodecError) -> [UInt8] {
        let n = try count(minItemSize: 1)
        defer { pos += n }
        return Array(bytes[pos..<pos + n])
    }

    mutating func bool() throws(CodecError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        case let v: throw .invalidValue("bool \(v)")
        }
    }

    mutating func ids() throws(CodecError) -> [UInt64] {
        let n = try count(minItemSize: 1)
        var out: [UInt64] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try varint()) }
        return out
    }

    func finish() throws(CodecError) {
        if remaining != 0 { throw .trailingBytes(remaining) }
    }
}

// MARK: - Shared pieces

extension ByteWriter {
    mutating func entry(_ e: Entry) {
        varint(e.term)
        varint(e.index)
        u8(e.type.rawValue)
        blob(e.data)
    }

    mutating func confState(_ cs: ConfState) {
        ids(cs.voters)
        ids(cs.learners)
        ids(cs.votersOutgoing)
        ids(cs.learnersNext)
        u8(cs.autoLeave ? 1 : 0)
    }

    mutating func snapshot(_ s: Snapshot) {
        varint(s.metadata.index)
        varint(s.metadata.term)
        confState(s.metadata.confState)
        blob(s.data)
    }
}

extension ByteReader {
    mutating func entry() throws(CodecError) -> Entry {
        let term = try varint()
        let index = try varint()
        let raw = try u8()
        guard let type = EntryType(rawValue: raw) else { throw .invalidValue("entry type \(raw)") }
        return Entry(term: term, index: index, type: type, data: try blob())
    }

    mutating func confState() throws(CodecError) -> ConfState {
        ConfState(
            voters: try ids(), learners: try ids(), votersOutgoing: try ids(), learnersNext: try ids(),
            autoLeave: try bool())
    }

    mutating func snapshot() throws(CodecError) -> Snapshot {
        let index = try varint()
        let term = try varint()
        let cs = try confState()
        return Snapshot(data: try blob(), metadata: SnapshotMetadata(confState: cs, index: index, term: term))
    }
}

// MARK: - Message

extension Message {
    /// The message in the versioned binary format (see `codecVersion`).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: estimatedEncodedSize)
        encode(into: &w)
        return w.bytes
    }

    /// Appends the encoding to `buffer` (useful for framing several messages in one write).
    public func encode(into buffer: inout [UInt8]) {
        var w = ByteWriter(capacity: 0)
        swap(&w.bytes, &buffer)
        encode(into: &w)
        swap(&w.bytes, &buffer)
    }

    private var estimatedEncodedSize: Int {
        var n = 2 + 2 + 7 * 10 + 10 + 10 + context.count
        for e in entries { n += 22 + e.data.count }
        if let s = snapshot { n += 40 + s.data.count + 10 * (s.metadata.confState.voters.count + 4) }
        return n
    }

    private func encode(into w: inout ByteWriter) {
        w.header(.message)
        w.u8(type.rawValue)
        w.u8((reject ? 1 : 0) | (snapshot != nil ? 2 : 0))
        w.varint(to)
        w.varint(from)
        w.varint(term)
        w.varint(logTerm)
        w.varint(index)
        w.varint(commit)
        w.varint(rejectHint)
        w.varint(UInt64(entries.count))
        for e in entries { w.entry(e) }
        w.blob(context)
        if let s = snapshot { w.snapshot(s) }
    }

    /// Decodes a message produced by `encoded()`.
    public init(decoding bytes: [UInt8]) throws(CodecError) {
        try self.init(decoding: bytes[...])
    }

    /// Decodes a message produced by `encoded()` from a slice (for example, one frame of a stream).
    public init(decoding bytes: ArraySlice<UInt8>) throws(CodecError) {
        var r = ByteReader(bytes)
        try r.header(.message)
        let raw = try r.u8()
        guard let type = MessageType(rawValue: raw) else { throw .invalidValue("message type \(raw)") }
        let flags = try r.u8()
        guard flags & ~3 == 0 else { throw .invalidValue("message flags \(flags)") }
        self.init(type: type)
        reject = flags & 1 != 0
        to = try r.varint()
        from = try r.varint()
        term = try r.varint()
        logTerm = try r.varint()
        index = try r.varint()
        commit = try r.varint()
        rejectHint = try r.varint()
        let n = try r.count(minItemSize: 4)
        if n > 0 {
            entries.reserveCapacity(n)
            for _ in 0..<n { entries.append(try r.entry()) }
        }
        context = try r.blob()
        if flags & 2 != 0 { snapshot = try r.snapshot() }
        try r.finish()
    }
}

// MARK: - Membership changes

extension ConfChange {
    /// The change in the versioned binary format; this is what a `.confChange` entry carries.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 24 + context.count)
        w.header(.confChange)
        w.varint(id)
        w.u8(type.rawValue)
        w.varint(nodeID)
        w.blob(context)
        return w.bytes
    }

    /// Decodes a change produced by `encoded()`.
    public init(decoding bytes: [UInt8]) throws(CodecError) {
        var r = ByteReader(bytes[...])
        try r.header(.confChange)
        let id = try r.varint()
        let raw = try r.u8()
        guard let type = ConfChangeType(rawValue: raw) else { throw .invalidValue("conf change type \(raw)") }
        self.init(id: id, type: type, nodeID: try r.varint(), context: try r.blob())
        try r.finish()
    }
}

extension ConfChangeV2 {
    /// The change in the versioned binary format; this is what a `.confChangeV2` entry carries.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 8 + 11 * changes.count + context.count)
        w.header(.confChangeV2)
        w.u8(transition.rawValue)
        w.varint(UInt64(changes.count))
        for c in changes {
            w.u8(c.type.rawValue)
            w.varint(c.nodeID)
        }
        w.blob(context)
        return w.bytes
    }

    /// Decodes a change produced by `encoded()`.
    public init(decoding bytes: [UInt8]) throws(CodecError) {
        var r = ByteReader(bytes[...])
        try r.header(.confChangeV2)
        let rawT = try r.u8()
        guard let transition = ConfChangeTransition(rawValue: rawT) else {
            throw .invalidValue("transition \(rawT)")
        }
        let n = try r.count(minItemSize: 2)
        var changes: [ConfChangeSingle] = []
        changes.reserveCapacity(n)
        for _ in 0..<n {
            let raw = try r.u8()
            guard let type = ConfChangeType(rawValue: raw) else { throw .invalidValue("conf change type \(raw)") }
            changes.append(ConfChangeSingle(type: type, nodeID: try r.varint()))
        }
        self.init(transition: transition, changes: changes, context: try r.blob())
        try r.finish()
    }
}
