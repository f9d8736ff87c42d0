import Testing
@testable import Raft

/// The binary codec for messages and membership changes.
@Suite struct CodecTests {
    static func randomMessage(_ r: inout SeededRandom) -> Message {
        func u64() -> UInt64 {
            switch r.next(below: 4) {
            case 0: return 0
            case 1: return r.next(below: 200)
            case 2: return r.next(below: 1 << 40)
            default: return r.next()
            }
        }
        func bytes(_ max: UInt64) -> [UInt8] { (0..<r.next(below: max)).map { _ in UInt8(r.next(below: 256)) } }
        var m = Message(type: MessageType.allCases[Int(r.next(below: UInt64(MessageType.allCases.count)))])
        m.to = u64()
        m.from = u64()
        m.term = u64()
        m.logTerm = u64()
        m.index = u64()
        m.commit = u64()
        m.reject = r.next(below: 2) == 1
        m.rejectHint = u64()
        m.context = bytes(20)
        m.entries = (0..<r.next(below: 5)).map { _ in
            Entry(term: u64(), index: u64(), type: EntryType(rawValue: UInt8(r.next(below: 3)))!, data: bytes(50))
        }
        if r.next(below: 3) == 0 {
            m.snapshot = Snapshot(data: bytes(100), metadata: SnapshotMetadata(
                confState: ConfState(voters: [u64(), u64()], learners: [u64()], votersOutgoing: r.next(below: 2) == 0 ? [] : [u64()],
                                     learnersNext: [], autoLeave: r.next(below: 2) == 1),
                index: u64(), term: u64()))
        }
        return m
    }

    @Test func messagesRoundTrip() throws {
        var r = SeededRandom(seed: 77)
        for _ in 0..<2000 {
            let m = Self.randomMessage(&r)
            let bytes = m.encoded()
            #expect(try Message(decoding: bytes) == m)
        }
    }

    @Test func encodeIntoAppends() throws {
        let a = Message(type: .app, to: 2, from: 1, term: 3, entries: [Entry(term: 3, index: 4, data: [1, 2])])
        let b = Message(type: .heartbeat, to: 3, from: 1, term: 3, commit: 9)
        var buf: [UInt8] = [0xFF]
        a.encode(into: &buf)
        let split = buf.count
        b.encode(into: &buf)
        #expect(try Message(decoding: buf[1..<split]) == a)
        #expect(try Message(decoding: buf[split...]) == b)
    }

    @Test func confChangesRoundTrip() throws {
        for t in ConfChangeType.allCases {
            let cc = ConfChange(id: 99, type: t, nodeID: 0xDEAD_BEEF_1234, context: payload("member"))
            #expect(try ConfChange(decoding: cc.encoded()) == cc)
        }
        for tr in ConfChangeTransition.allCases {
            let cc = ConfChangeV2(transition: tr, changes: [
                ConfChangeSingle(type: .addNode, nodeID: 1), ConfChangeSingle(type: .removeNode, nodeID: .max),
            ], context: [1, 2, 3])
            #expect(try ConfChangeV2(decoding: cc.encoded()) == cc)
        }
        #expect(try ConfChangeV2(decoding: ConfChangeV2().encoded()) == ConfChangeV2())
    }

    @Test func entriesCarryTheirConfChange() throws {
        let v1 = ConfChange(type: .addLearnerNode, nodeID: 5)
        let e1 = v1.makeEntry()
        #expect(e1.type == .confChange)
        #expect(try e1.decodeConfChange() == v1.asV2)
        let v2 = ConfChangeV2(transition: .jointExplicit, changes: [ConfChangeSingle(type: .addNode, nodeID: 7)])
        let e2 = v2.makeEntry()
        #expect(e2.type == .confChangeV2)
        #expect(try e2.decodeConfChange() == v2)
        #expect(try Entry(term: 1, index: 1, data: [1]).decodeConfChange() == nil)
    }

    @Test func everyTruncationFails() {
        var r = SeededRandom(seed: 5)
        for _ in 0..<100 {
            let bytes = Self.randomMessage(&r).encoded()
            for n in 0..<bytes.count {
                #expect(throws: CodecError.self) { try Message(decoding: Array(bytes.prefix(n))) }
            }
        }
    }

    @Test func malformedInputIsRejected() {
        let good = Message(type: .vote, to: 1, from: 2, term: 3).encoded()
        #expect(throws: CodecError.trailingBytes(1)) { try Message(decoding: good + [0]) }
        var badVersion = good
        badVersion[0] = 9
        #expect(throws: CodecError.unsupportedVersion(9)) { try Message(decoding: badVersion) }
        var badKind = good
        badKind[1] = 2
        #expect(throws: CodecError.wrongKind(expected: 1, found: 2)) { try Message(decoding: badKind) }
        var badType = good
        badType[2] = 200
        #expect(throws: CodecError.self) { try Message(decoding: badType) }
        #expect(throws: CodecError.self) { try ConfChange(decoding: good) }
        // An 11-byte varint.
        var w = ByteWriter(capacity: 16)
        w.header(.confChange)
        w.bytes += [UInt8](repeating: 0xFF, count: 10) + [0x01]
        #expect(throws: CodecError.self) { try ConfChange(decoding: w.bytes) }
        // A length far beyond the input.
        var big = ByteWriter(capacity: 16)
        big.header(.confChangeV2)
        big.u8(0)
        big.varint(1 << 40)
        #expect(throws: CodecError.truncated) { try ConfChangeV2(decoding: big.bytes) }
    }

    @Test func varintBoundaries() throws {
        for v: UInt64 in [0, 1, 127, 128, 16383, 16384, UInt64(UInt32.max), .max - 1, .max] {
            var w = ByteWriter(capacity: 10)
            w.varint(v)
            #expect(w.bytes.count == ByteWriter.varintSize(v))
            var r = ByteReader(w.bytes[...])
            #expect(try r.varint() == v)
        }
    }

    @Test func encodingIsCompact() {
        let hb = Message(type: .heartbeat, to: 2, from: 1, term: 5, commit: 100)
        #expect(hb.encoded().count <= 16)
    }
}
