import Testing
@testable import Raft

/// Messages a misbehaving or hostile peer may send: each is dropped with its reason instead
/// of crashing the node or corrupting its state.
@Suite struct HostileMessageTests {
    /// A follower of node 1 in term 2, with entries 1...3 committed up to 2.
    func follower() -> Raft {
        let r = newTestRaft(2, peers: [1, 2, 3], storage: storageWith(terms: [1, 1, 2]))
        r.stepOK(Message(type: .heartbeat, to: 2, from: 1, term: 2, commit: 2))
        _ = r.readMessages()
        return r
    }

    func dropReason(_ body: () throws(RaftError) -> Void) -> MessageDropReason? {
        do {
            try body()
        } catch .messageDropped(let reason) {
            return reason
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return nil
    }

    @Test func heartbeatWithTheLargestTermIsDroppedAndElectionsGoOn() {
        let r = follower()
        let reason = dropReason { () throws(RaftError) in try r.step(Message(type: .heartbeat, to: 2, from: 1, term: .max)) }
        #expect(reason == .termTooLarge(.max))
        #expect(r.term == 2)
        #expect(r.hardState.term == 2, "the term that would be persisted is untouched")
        for _ in 0..<(2 * r.electionTimeout) { r.tick() }
        #expect(r.state == .candidate)
        #expect(r.term == 3)
    }

    @Test func aPersistedHugeTermNeverOverflowsACampaign() {
        let storage = storageWith(terms: [1])
        storage.setHardState(HardState(term: .max, vote: 0, commit: 1))
        let r = newTestRaft(1, peers: [1, 2, 3], storage: storage)
        for _ in 0..<(2 * r.electionTimeout) { r.tick() }
        try? r.step(Message(type: .timeoutNow, to: 1, from: 2, term: 0))
        #expect(r.term == .max)
        #expect(r.state == .follower)
    }

    @Test func heartbeatCommittingBeyondTheLogIsDropped() {
        let r = follower()
        let reason = dropReason { () throws(RaftError) in
            try r.step(Message(type: .heartbeat, to: 2, from: 1, term: 2, commit: 1_000_000_000))
        }
        #expect(reason == .commitBeyondLog(commit: 1_000_000_000, lastIndex: 3))
        #expect(r.log.committed == 2)
        #expect(r.readMessages().isEmpty, "no answer to a dropped heartbeat")
    }

    @Test func appendAnswerBeyondTheLeadersLogIsDropped() {
        let r = newTestRaft(1, peers: [1, 2, 3])
        r.becomeCandidate()
        r.becomeLeader()
        _ = r.readMessages()
        let last = r.log.lastIndex
        let reason = dropReason { () throws(RaftError) in
            try r.step(Message(type: .appResp, to: 1, from: 2, term: r.term, index: 1_000_000_000))
        }
        #expect(reason == .matchBeyondLog(index: 1_000_000_000, lastIndex: last))
        #expect(r.trk.progress[2]?.match == 0)
        #expect(r.log.committed == 0)
        // A rejection whose hint is past the log would overflow the next probe's index.
        let hint = dropReason { () throws(RaftError) in
            try r.step(Message(type: .appResp, to: 1, from: 2, term: r.term, index: last, reject: true, rejectHint: .max))
        }
        #expect(hint == .matchBeyondLog(index: .max, lastIndex: last))
    }

    @Test func appendWhoseEntriesDoNotFollowItsIndexIsDropped() {
        let r = follower()
        let gap = Message(type: .app, to: 2, from: 1, term: 2, logTerm: 2, index: 3, entries: [Entry(term: 2, index: 9)])
        #expect(dropReason { () throws(RaftError) in try r.step(gap) } == .malformedEntries)
        let wrapping = Message(type: .app, to: 2, from: 1, term: 2, logTerm: 2, index: .max, entries: [Entry(term: 2, index: 0)])
        #expect(dropReason { () throws(RaftError) in try r.step(wrapping) } == .malformedEntries)
        #expect(r.log.lastIndex == 3)
    }

    func snapshot(index: UInt64, term: UInt64) -> Snapshot {
        Snapshot(data: [], metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: index, term: term))
    }

    @Test func snapshotsAreTakenOnlyFromTheCurrentLeaderWhenNeeded() throws {
        let node = try RawNode(config: testConfig(2), storage: storageWith(terms: [1, 1, 2]), peers: [1, 2, 3])
        try node.step(Message(type: .heartbeat, to: 2, from: 1, term: 2, commit: 2))
        let fromOther = Message(type: .snap, to: 2, from: 3, term: 2, snapshot: snapshot(index: 50, term: 2))
        #expect(dropReason { () throws(RaftError) in try node.stepSnapshot(fromOther) } == .snapshotNotFromLeader(leader: 1, term: 2))
        let laterTerm = Message(type: .snap, to: 2, from: 1, term: 3, snapshot: snapshot(index: 50, term: 3))
        #expect(dropReason { () throws(RaftError) in try node.stepSnapshot(laterTerm) } == .snapshotNotFromLeader(leader: 1, term: 2))
        let old = Message(type: .snap, to: 2, from: 1, term: 2, snapshot: snapshot(index: 2, term: 1))
        #expect(dropReason { () throws(RaftError) in try node.stepSnapshot(old) } == .snapshotNotNeeded(index: 2, committed: 2))
        #expect(node.raft.log.unstable.snapshot == nil)
        #expect(node.term == 2)

        let good = Message(type: .snap, to: 2, from: 1, term: 2, snapshot: snapshot(index: 50, term: 2))
        #expect(try node.stepSnapshot(good))
        #expect(node.raft.log.committed == 50)
    }
}
