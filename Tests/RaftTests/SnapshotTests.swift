import Testing
@testable import Raft

/// Snapshots, log compaction and InstallSnapshot.
@Suite struct SnapshotTests {
    let snap = Snapshot(data: [9], metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2]), index: 11, term: 11))

    @Test func leaderSendsSnapshotWhenEntriesAreCompacted() throws {
        let s = MemoryStorage()
        try s.applySnapshot(snap)
        let r = newTestRaft(1, peers: [1, 2], storage: s)
        r.loadTerm(11)
        r.becomeCandidate()
        r.becomeLeader()
        _ = r.readMessages()
        let pr = r.trk.progress[2]!
        pr.next = r.log.firstIndex - 1  // needs an entry below the snapshot
        pr.recentActive = true
        r.sendAppend(to: 2)
        let m = r.readMessages()
        #expect(m.count == 1)
        #expect(m[0].type == .snap)
        #expect(m[0].snapshot == snap)
        #expect(pr.state == .snapshot)
        #expect(pr.pendingSnapshot == 11)
        // Paused while the snapshot is in flight.
        r.sendAppend(to: 2)
        #expect(r.readMessages().isEmpty)
    }

    @Test func inactiveFollowerIsNotSentSnapshot() throws {
        let s = MemoryStorage()
        try s.applySnapshot(snap)
        let r = newTestRaft(1, peers: [1, 2], storage: s)
        r.loadTerm(11)
        r.becomeCandidate()
        r.becomeLeader()
        _ = r.readMessages()
        r.trk.progress[2]!.next = 5
        r.sendAppend(to: 2)
        #expect(r.readMessages().isEmpty)
    }

    @Test func followerRestoresSnapshot() {
        let r = newTestRaft(2, peers: [1, 2])
        r.stepOK(Message(type: .snap, to: 2, from: 1, term: 11, snapshot: snap))
        #expect(r.log.committed == 11)
        #expect(r.log.lastIndex == 11)
        #expect(r.log.lastTerm == 11)
        #expect(r.log.unstable.snapshot == snap)
        #expect(r.trk.config.voters.incoming.ids == [1, 2])
        let m = r.readMessages()
        #expect(m.last?.type == .appResp)
        #expect(m.last?.index == 11)
    }

    @Test func snapshotWithNewConfigIsRestored() {
        let r = newTestRaft(3, peers: [1, 2])
        let s = Snapshot(metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2], learners: [3]), index: 5, term: 2))
        r.stepOK(Message(type: .snap, to: 3, from: 1, term: 2, snapshot: s))
        #expect(r.isLearner)
        #expect(r.trk.config.learners.ids == [3])
    }

    @Test func staleSnapshotIsIgnored() {
        let r = newTestRaft(2, peers: [1, 2], storage: storageWith(terms: Array(repeating: 1, count: 15)))
        r.becomeFollower(term: 11, lead: 1)
        r.log.commitTo(12)
        r.stepOK(Message(type: .snap, to: 2, from: 1, term: 11, snapshot: snap))
        #expect(r.log.unstable.snapshot == nil)
        #expect(r.readMessages().last?.index == 12)
    }

    // A snapshot whose last entry we already have only fast-forwards the commit index.
    @Test func matchingSnapshotFastForwardsCommit() {
        var terms: [UInt64] = Array(repeating: 1, count: 10)
        terms.append(11)
        terms.append(11)
        let r = newTestRaft(2, peers: [1, 2], storage: storageWith(terms: terms))
        r.becomeFollower(term: 11, lead: 1)
        r.stepOK(Message(type: .snap, to: 2, from: 1, term: 11, snapshot: snap))
        #expect(r.log.unstable.snapshot == nil)
        #expect(r.log.committed == 11)
        #expect(r.log.lastIndex == 12)
    }

    @Test func snapshotNotIncludingUsIsIgnored() {
        let r = newTestRaft(3, peers: [1, 2, 3])
        r.stepOK(Message(type: .snap, to: 3, from: 1, term: 11, snapshot: snap))
        #expect(r.log.committed == 0)
        #expect(r.log.unstable.snapshot == nil)
    }

    // After the follower acknowledges the snapshot, replication resumes.
    @Test func replicationResumesAfterSnapshot() throws {
        let s = MemoryStorage()
        try s.applySnapshot(snap)
        let r = newTestRaft(1, peers: [1, 2], storage: s)
        r.loadTerm(11)
        r.becomeCandidate()
        r.becomeLeader()
        let pr = r.trk.progress[2]!
        pr.becomeSnapshot(11)
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: r.term, index: 11))
        #expect(pr.state == .replicate)
        #expect(pr.match == 11)
    }

    // End to end: a follower that was down while the leader compacted catches up via snapshot.
    @Test func laggingFollowerCatchesUpThroughSnapshot() throws {
        let nt = Network(3)
        nt.campaign(1)
        nt.isolate(3)
        for i in 0..<10 { nt.propose(1, [UInt8(i)]) }
        let ls = nt.storage[1]!
        let applied = nt[1].persistAndApply(ls)
        #expect(!applied.isEmpty)
        let idx = nt[1].log.applied
        try ls.createSnapshot(at: idx, confState: ConfState(voters: [1, 2, 3]), data: [42])
        try ls.compact(idx)
        nt.recover()
        nt.send(Message(type: .beat, to: 1, from: 1))
        // Node 3 got the snapshot; the leader learns of it and replicates the rest.
        #expect(nt.delivered.contains { $0.type == .snap && $0.to == 3 })
        nt.send(Message(type: .snapStatus, to: 1, from: 3))
        nt.propose(1, payload("after"))
        #expect(nt[3].log.committed == nt[1].log.committed)
        #expect(nt[3].log.lastIndex == nt[1].log.lastIndex)
    }
}
