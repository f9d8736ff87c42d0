import Testing
@testable import Raft

/// Membership changes: single-step changes, joint consensus (thesis §4.3), learners, and the
/// one-change-at-a-time rule.
@Suite struct MembershipTests {
    func leader(_ peers: [UInt64], learners: [UInt64] = [], storage s: MemoryStorage = MemoryStorage()) -> Raft {
        let r = newTestRaft(1, peers: peers, learners: learners, storage: s)
        r.becomeCandidate()
        r.becomeLeader()
        r.persistAndApply(s)
        _ = r.readMessages()
        return r
    }

    func propose(_ r: Raft, _ cc: some ConfChangeConvertible) throws {
        try r.step(Message(type: .prop, from: r.id, entries: [cc.makeEntry()]))
    }

    @Test func addAndRemoveNodes() throws {
        let r = leader([1])
        _ = try r.applyConfChange(ConfChange(type: .addNode, nodeID: 2).asV2)
        #expect(r.trk.config.voters.incoming.ids == [1, 2])
        #expect(r.trk.progress[2] != nil)
        _ = try r.applyConfChange(ConfChange(type: .removeNode, nodeID: 2).asV2)
        #expect(r.trk.config.voters.incoming.ids == [1])
        #expect(r.trk.progress[2] == nil)
    }

    // Removing a node shrinks the quorum: entries waiting on it may commit at once.
    @Test func removalCanCommitPendingEntries() throws {
        let r = leader([1, 2])
        try r.step(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])]))
        #expect(r.log.committed == 0)
        _ = try r.applyConfChange(ConfChange(type: .removeNode, nodeID: 2).asV2)
        #expect(r.log.committed == 2)
    }

    // Only one change may be pending: later proposals become empty normal entries.
    @Test func onlyOnePendingConfChange() throws {
        let s = MemoryStorage()
        let r = leader([1, 2], storage: s)
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 1))
        try propose(r, ConfChange(type: .addNode, nodeID: 3))
        try propose(r, ConfChange(type: .addNode, nodeID: 4))
        let ents = r.log.unstableEntries
        #expect(ents.map(\.type) == [.confChange, .normal])
        #expect(ents[1].data.isEmpty)
        // Once the first is applied, a new one is accepted.
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: r.log.lastIndex))
        r.persistAndApply(s)
        try propose(r, ConfChange(type: .addNode, nodeID: 4))
        #expect(r.log.unstableEntries.last?.type == .confChange)
    }

    // A new leader treats its whole log as possibly holding a pending change.
    @Test func newLeaderBlocksConfChangesUntilItsLogIsApplied() throws {
        let s = storageWith(terms: [1, 1])
        let r = newTestRaft(1, peers: [1, 2], storage: s)
        r.becomeCandidate()
        r.becomeLeader()
        #expect(r.pendingConfIndex == 2)
        try propose(r, ConfChange(type: .addNode, nodeID: 3))
        #expect(r.log.unstableEntries.last?.type == .normal)
    }

    // Joint consensus: both the old and the new majority must agree (commit and votes).
    @Test func jointConfigNeedsBothMajorities() throws {
        let r = leader([1, 2, 3])
        let cc = ConfChangeV2(transition: .jointExplicit, changes: [
            ConfChangeSingle(type: .addNode, nodeID: 4), ConfChangeSingle(type: .addNode, nodeID: 5),
            ConfChangeSingle(type: .removeNode, nodeID: 2), ConfChangeSingle(type: .removeNode, nodeID: 3),
        ])
        let cs = try r.applyConfChange(cc)
        #expect(cs.voters == [1, 4, 5])
        #expect(cs.votersOutgoing == [1, 2, 3])
        #expect(r.trk.config.voters.isJoint)
        try r.step(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])]))
        let idx = r.log.lastIndex
        // A majority of the new config alone is not enough...
        for id: UInt64 in [4, 5] { r.stepOK(Message(type: .appResp, to: 1, from: id, term: 1, index: idx)) }
        #expect(r.log.committed < idx)
        // ...nor of the old one alone; both together are.
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: idx))
        #expect(r.log.committed == idx)
        // Votes likewise.
        let votes: [UInt64: Bool] = [1: true, 4: true, 5: true]
        #expect(r.trk.config.voters.voteResult { votes[$0] } == .pending)
        let lost: [UInt64: Bool] = [1: true, 4: true, 5: true, 2: false, 3: false]
        #expect(r.trk.config.voters.voteResult { lost[$0] } == .lost)
    }

    @Test func explicitJointConfigIsLeftByEmptyChange() throws {
        let s = MemoryStorage()
        let r = leader([1], storage: s)
        try propose(r, ConfChangeV2(transition: .jointExplicit, changes: [ConfChangeSingle(type: .addLearnerNode, nodeID: 2)]))
        for e in r.persistAndApply(s) where e.type == .confChangeV2 {
            _ = try r.applyConfChange(try e.decodeConfChange()!)
        }
        #expect(r.trk.config.voters.isJoint)
        #expect(!r.trk.config.autoLeave)
        // Another change is refused while joint...
        try propose(r, ConfChange(type: .addNode, nodeID: 3))
        #expect(r.log.unstableEntries.last?.type == .normal)
        r.persistAndApply(s)
        // ...the empty change leaves.
        try propose(r, ConfChangeV2())
        let leave = r.log.unstableEntries.last!
        #expect(leave.type == .confChangeV2)
        for e in r.persistAndApply(s) where e.type == .confChangeV2 {
            _ = try r.applyConfChange(try e.decodeConfChange()!)
        }
        #expect(!r.trk.config.voters.isJoint)
        #expect(r.trk.config.learners.ids == [2])
        // An empty change outside a joint config is refused.
        try propose(r, ConfChangeV2())
        #expect(r.log.unstableEntries.last?.type == .normal)
    }

    // Auto-leave: once the joint config is applied, the leader proposes leaving it by itself.
    @Test func autoLeaveJointConfig() throws {
        let s = MemoryStorage()
        let node = try RawNode(config: testConfig(1), storage: s, peers: [1])
        try node.campaign()
        func handle() throws {
            while node.hasReady() {
                let rd = node.ready()
                s.append(rd.entries)
                if let hs = rd.hardState { s.setHardState(hs) }
                for e in rd.committedEntries {
                    if let cc = try e.decodeConfChange() { try node.applyConfChange(cc) }
                }
                node.advance()
            }
        }
        try handle()
        try node.proposeConfChange(ConfChangeV2(changes: [
            ConfChangeSingle(type: .addNode, nodeID: 2), ConfChangeSingle(type: .addLearnerNode, nodeID: 3),
        ]))
        try handle()
        // Node 2 must ack for the (joint) config to commit entries; simulate it.
        for _ in 0..<3 {
            try node.step(Message(type: .appResp, to: 1, from: 2, term: 1, index: node.raft.log.lastIndex))
            try handle()
        }
        let st = node.status()
        #expect(!st.config.voters.isJoint)
        #expect(st.config.voters.incoming.ids == [1, 2])
        #expect(st.config.learners.ids == [3])
    }

    // Demoting a voter through a joint config stages it in learnersNext.
    @Test func demotionIsStagedUntilJointConfigIsLeft() throws {
        let r = leader([1, 2, 3])
        let cs = try r.applyConfChange(ConfChangeV2(transition: .jointImplicit, changes: [ConfChangeSingle(type: .addLearnerNode, nodeID: 3)]))
        #expect(cs.learnersNext == [3])
        #expect(cs.votersOutgoing == [1, 2, 3])
        #expect(cs.voters == [1, 2])
        #expect(cs.autoLeave)
        let left = try r.applyConfChange(ConfChangeV2())
        #expect(left.learners == [3])
        #expect(left.voters == [1, 2])
        #expect(left.learnersNext.isEmpty)
    }

    @Test func invalidChangesAreRejectedAndLeaveConfigUnchanged() {
        let r = leader([1, 2, 3])
        let before = r.trk.config
        #expect(throws: ConfChangeError.self) {
            try r.applyConfChange(ConfChangeV2(changes: [])) // not joint: can't leave
        }
        #expect(throws: ConfChangeError.self) {
            // Two voters changed in one simple step.
            try ConfChanger(tracker: r.trk, lastIndex: 1).simple([
                ConfChangeSingle(type: .addNode, nodeID: 4), ConfChangeSingle(type: .removeNode, nodeID: 2),
            ])
        }

        #expect(throws: ConfChangeError.self) {
            try r.applyConfChange(ConfChangeV2(transition: .jointExplicit, changes: [
                ConfChangeSingle(type: .removeNode, nodeID: 1), ConfChangeSingle(type: .removeNode, nodeID: 2),
                ConfChangeSingle(type: .removeNode, nodeID: 3),
            ]))
        }
        #expect(r.trk.config == before)
    }

    // Learners receive the log but never vote or campaign.
    @Test func learnersNeverCampaignAndDoNotCount() {
        let learner = newTestRaft(2, peers: [1], learners: [2])
        #expect(learner.isLearner)
        for _ in 0..<(3 * learner.electionTimeout) { learner.tick() }
        #expect(learner.state == .follower)
        #expect(learner.readMessages().isEmpty)
        learner.stepOK(Message(type: .hup, from: 2))
        #expect(learner.state == .follower)

        // The leader does not count a learner's acknowledgement towards commit.
        let r = leader([1, 2], learners: [3])
        r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])]))
        r.stepOK(Message(type: .appResp, to: 1, from: 3, term: 1, index: 2))
        #expect(r.log.committed == 0)
        // ...nor its vote.
        let c = newTestRaft(1, peers: [1, 2], learners: [3])
        c.stepOK(Message(type: .hup, from: 1))
        c.stepOK(Message(type: .voteResp, to: 1, from: 3, term: 1))
        #expect(c.state == .candidate)
        // Learners are not asked to vote.
        #expect(c.readMessages().allSatisfy { $0.to != 3 })
    }

    @Test func learnerIsReplicatedAndPromoted() throws {
        let nt = Network(2, custom: [
            1: newTestRaft(1, peers: [1], learners: [2]),
            2: newTestRaft(2, peers: [1], learners: [2]),
        ])
        nt.campaign(1)
        nt.propose(1)
        #expect(nt[2].log.committed == nt[1].log.committed)
        _ = try nt[1].applyConfChange(ConfChange(type: .addNode, nodeID: 2).asV2)
        _ = try nt[2].applyConfChange(ConfChange(type: .addNode, nodeID: 2).asV2)
        #expect(!nt[2].isLearner)
        #expect(nt[1].trk.config.voters.incoming.ids == [1, 2])
        #expect(nt[2].promotable)
    }

    // A removed leader keeps its role until shut down, but takes no proposals.
    @Test func removedLeaderDropsProposals() throws {
        let r = leader([1, 2, 3])
        _ = try r.applyConfChange(ConfChange(type: .removeNode, nodeID: 1).asV2)
        #expect(r.state == .leader)
        #expect(throws: RaftError.proposalDropped) {
            try r.step(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])]))
        }
    }

    // A node does not campaign while a committed conf change is not yet applied: it might
    // not even be a voter any more.
    @Test func noCampaignWithUnappliedConfChange() {
        let s = MemoryStorage()
        s.append([Entry(term: 1, index: 1, type: .confChange, data: ConfChange(type: .addNode, nodeID: 4).encoded())])
        s.setHardState(HardState(term: 1, commit: 1))
        let r = newTestRaft(1, peers: [1, 2, 3], storage: s)
        r.stepOK(Message(type: .hup, from: 1))
        #expect(r.state == .follower)
        r.persistAndApply(s)
        r.stepOK(Message(type: .hup, from: 1))
        #expect(r.state == .candidate)
    }

    // Restoring a joint configuration from a ConfState reproduces it exactly.
    @Test(arguments: [
        ConfState(voters: [1, 2, 3]),
        ConfState(voters: [1, 2], learners: [5]),
        ConfState(voters: [1, 4], learners: [5], votersOutgoing: [1, 2, 3], learnersNext: [3], autoLeave: true),
        ConfState(voters: [2], votersOutgoing: [1, 2], autoLeave: false),
    ])
    func restoreReproducesConfState(_ cs: ConfState) throws {
        let (cfg, prs) = try ConfChanger.restore(cs, maxInflight: 4, lastIndex: 10)
        #expect(cfg.confState == cs)
        for id in cs.voters + cs.learners + cs.votersOutgoing { #expect(prs[id] != nil) }
    }
}

