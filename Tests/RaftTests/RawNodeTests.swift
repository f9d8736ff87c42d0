import Testing
@testable import Raft

/// The RawNode façade: the Ready/advance contract, proposals, limits, restarts.
@Suite struct RawNodeTests {
    /// Plays the application for one node: persist, (collect messages), apply, advance.
    @discardableResult
    func handle(_ node: RawNode, _ s: MemoryStorage) throws -> (messages: [Message], applied: [Entry]) {
        var msgs: [Message] = []
        var applied: [Entry] = []
        while node.hasReady() {
            let rd = node.ready()
            if let snap = rd.snapshot { try s.applySnapshot(snap) }
            s.append(rd.entries)
            if let hs = rd.hardState { s.setHardState(hs) }
            msgs += rd.messages
            for e in rd.committedEntries {
                applied.append(e)
                if let cc = try e.decodeConfChange() { try node.applyConfChange(cc) }
            }
            node.advance()
        }
        return (msgs, applied)
    }

    @Test func bootstrapSingleNodeAndPropose() throws {
        let s = MemoryStorage()
        let node = try RawNode(config: testConfig(1), storage: s)
        try node.bootstrap(peers: [Peer(id: 1)])
        let first = node.ready()
        #expect(first.entries.count == 1)
        #expect(first.entries[0].type == .confChange)
        #expect(first.hardState == HardState(term: 1, vote: 0, commit: 1))
        #expect(first.committedEntries.count == 1)
        #expect(first.mustSync)
        s.append(first.entries)
        s.setHardState(first.hardState!)
        node.advance()
        try node.campaign()
        try handle(node, s)
        #expect(node.state == .leader)
        try node.propose(payload("hello"))
        let (_, applied) = try handle(node, s)
        #expect(applied.map(\.data) == [payload("hello")])
        #expect(s.lastIndex() == 3)
        #expect(node.status().applied == 3)
    }

    @Test func bootstrapRejectsBadInput() throws {
        let node = try RawNode(config: testConfig(1), storage: MemoryStorage())
        #expect(throws: RaftError.noPeers) { try node.bootstrap(peers: []) }
        let s = storageWith(terms: [1])
        let used = try RawNode(config: testConfig(1), storage: s)
        #expect(throws: RaftError.storageNotEmpty) { try used.bootstrap(peers: [Peer(id: 1)]) }
    }

    @Test func configIsValidated() {
        #expect(throws: RaftError.self) { try RawNode(config: Config(id: 0), storage: MemoryStorage()) }
        #expect(throws: RaftError.self) { try RawNode(config: Config(id: 1, electionTick: 1, heartbeatTick: 1), storage: MemoryStorage()) }
        #expect(throws: RaftError.self) { try RawNode(config: Config(id: 1, maxInflightMsgs: 0), storage: MemoryStorage()) }
    }

    // Proposals made while no leader is known are reported as dropped.
    @Test func proposalDroppedWithoutLeader() throws {
        let node = try RawNode(config: testConfig(1), storage: MemoryStorage(), peers: [1, 2, 3])
        #expect(throws: RaftError.proposalDropped) { try node.propose(payload("x")) }
        try node.campaign()
        #expect(node.state == .candidate)
        #expect(throws: RaftError.proposalDropped) { try node.propose(payload("x")) }
    }

    @Test func followerForwardsProposalsUnlessDisabled() throws {
        let r = newTestRaft(2, peers: [1, 2, 3])
        r.becomeFollower(term: 1, lead: 1)
        r.stepOK(Message(type: .prop, from: 2, entries: [Entry(term: 0, index: 0, data: [1])]))
        let m = r.readMessages()
        #expect(m.count == 1 && m[0].type == .prop && m[0].to == 1 && m[0].term == 0)

        let d = newTestRaft(2, peers: [1, 2, 3]) { $0.disableProposalForwarding = true }
        d.becomeFollower(term: 1, lead: 1)
        #expect(throws: RaftError.proposalDropped) {
            try d.step(Message(type: .prop, from: 2, entries: [Entry(term: 0, index: 0, data: [1])]))
        }
    }

    // The leader bounds the uncommitted tail; the bound frees up as entries commit. A
    // proposal is always accepted when nothing is uncommitted, however large.
    @Test func maxUncommittedSizeDropsProposals() throws {
        let s = MemoryStorage()
        let r = newTestRaft(1, peers: [1, 2, 3], storage: s) { $0.maxUncommittedEntriesSize = 100 }
        r.becomeCandidate()
        r.becomeLeader()
        #expect(r.uncommittedSize == 0)
        let big = [UInt8](repeating: 1, count: 300)
        r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: big)]))
        #expect(throws: RaftError.proposalDropped) {
            try r.step(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])]))
        }
        // Commit everything; the quota is released when the committed entries are applied.
        let node = RawNodeHarness(r, s)
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: r.log.lastIndex))
        node.cycle()
        #expect(r.uncommittedSize == 0)
        let small = [UInt8](repeating: 1, count: 40)
        r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: small)]))
        r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: small)]))
        #expect(throws: RaftError.proposalDropped) {
            try r.step(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: small)]))
        }
        #expect(r.uncommittedSize == 80)
    }

    @Test func stepRejectsLocalMessagesAndUnknownResponders() throws {
        let node = try RawNode(config: testConfig(1), storage: MemoryStorage(), peers: [1, 2])
        for t in MessageType.allCases where t.isLocal {
            #expect(throws: RaftError.stepLocalMessage) { try node.step(Message(type: t, from: 2)) }
        }
        #expect(throws: RaftError.stepPeerNotFound) { try node.step(Message(type: .appResp, from: 9, term: 1)) }
    }

    // Messages come out only with the Ready that carries what they depend on.
    @Test func messagesComeWithTheirPersistence() throws {
        let s = MemoryStorage()
        let node = try RawNode(config: testConfig(1), storage: s, peers: [1, 2])
        try node.campaign()
        let rd = node.ready()
        #expect(rd.hardState?.vote == 1)
        #expect(rd.hardState?.term == 1)
        #expect(rd.mustSync)
        #expect(rd.messages.map(\.type) == [.vote])
        #expect(rd.softState?.raftState == .candidate)
        node.advance()
        #expect(!node.hasReady())
    }

    // A restart from storage restores term, vote, commit, log and configuration; entries at
    // or below `applied` are not handed out again.
    @Test func restartFromStorage() throws {
        let s = MemoryStorage()
        let node = try RawNode(config: testConfig(1), storage: s)
        try node.bootstrap(peers: [Peer(id: 1)])
        try handle(node, s)
        try node.campaign()
        try handle(node, s)
        for i in 0..<5 { try node.propose([UInt8(i)]) }
        try handle(node, s)
        let before = node.status()
        // The server snapshots its state (with the configuration) and restarts from it.
        try s.createSnapshot(at: 4, confState: before.config.confState, data: [])
        try s.compact(4)

        let restarted = try RawNode(config: testConfig(1) { $0.applied = 4 }, storage: s)
        let st = restarted.status()
        #expect(st.hardState == before.hardState)
        #expect(st.config == before.config)
        #expect(restarted.state == .follower)
        let rd = restarted.ready()
        #expect(rd.entries.isEmpty)
        #expect(rd.hardState == nil)
        #expect(rd.committedEntries.map(\.index) == Array(5...before.hardState.commit))
        restarted.advance()
        try restarted.campaign()
        try handle(restarted, s)
        #expect(restarted.state == .leader)
        #expect(restarted.term == before.hardState.term + 1)
    }

    @Test func appliedBeyondCommitIsRejected() throws {
        let s = storageWith(terms: [1, 1])
        s.setHardState(HardState(term: 1, commit: 1))
        #expect(throws: RaftError.self) {
            try RawNode(config: testConfig(1) { $0.applied = 2 }, storage: s, peers: [1])
        }
    }

    @Test func statusReportsProgressOnLeader() throws {
        let s = MemoryStorage()
        let node = try RawNode(config: testConfig(1), storage: s, peers: [1, 2])
        #expect(node.status().progress.isEmpty)
        try node.campaign()
        try node.step(Message(type: .voteResp, to: 1, from: 2, term: 1))
        let st = node.status()
        #expect(st.softState == SoftState(lead: 1, raftState: .leader))
        #expect(st.progress.keys.sorted() == [1, 2])
        #expect(st.progress[1]?.state == .replicate)
        #expect(node.leader == 1)
    }

    @Test func reportSnapshotAndUnreachable() throws {
        let s = MemoryStorage()
        let r = newTestRaft(1, peers: [1, 2], storage: s)
        r.becomeCandidate()
        r.becomeLeader()
        let pr = r.trk.progress[2]!
        pr.becomeSnapshot(10)
        r.stepOK(Message(type: .snapStatus, from: 2, reject: true))
        #expect(pr.state == .probe)
        #expect(pr.next == pr.match + 1)
        #expect(pr.probeSent)
        pr.becomeSnapshot(10)
        r.stepOK(Message(type: .snapStatus, from: 2))
        #expect(pr.state == .probe)
        #expect(pr.next == 11)
    }

    // Two nodes wired through their Ready output reach agreement.
    @Test func twoRawNodesReplicate() throws {
        let s1 = MemoryStorage()
        let s2 = MemoryStorage()
        let n1 = try RawNode(config: testConfig(1), storage: s1)
        let n2 = try RawNode(config: testConfig(2), storage: s2)
        let peers = [Peer(id: 1), Peer(id: 2)]
        try n1.bootstrap(peers: peers)
        try n2.bootstrap(peers: peers)
        var applied2: [Entry] = []
        for round in 0..<20 {
            // A node does not campaign before applying its committed conf changes.
            if round == 1 { try n1.campaign() }
            if round == 5 { try n1.propose(payload("v")) }
            let (m1, _) = try handle(n1, s1)
            let (m2, a2) = try handle(n2, s2)
            applied2 += a2
            for m in m1 { try n2.step(m) }
            for m in m2 { try n1.step(m) }
        }
        #expect(n1.state == .leader)
        #expect(applied2.contains { $0.data == payload("v") })
    }
}

/// Drives a bare `Raft` through Ready-like cycles (persist, apply, release quota).
struct RawNodeHarness {
    let r: Raft
    let s: MemoryStorage

    init(_ r: Raft, _ s: MemoryStorage) {
        self.r = r
        self.s = s
    }

    func cycle() {
        let ents = r.persistAndApply(s)
        r.reduceUncommittedSize(ents)
        _ = r.readMessages()
    }
}
