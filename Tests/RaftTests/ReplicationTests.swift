import Testing
@testable import Raft

/// Log replication and commitment: the Raft paper §5.3 and §5.4.2.
@Suite struct ReplicationTests {
    /// A leader of term 1 over `peers`, with its empty entry persisted and the noise drained.
    func leader(_ peers: [UInt64] = [1, 2, 3], storage s: MemoryStorage = MemoryStorage()) -> Raft {
        let r = newTestRaft(1, peers: peers, storage: s)
        r.becomeCandidate()
        r.becomeLeader()
        r.persistAndApply(s)
        _ = r.readMessages()
        return r
    }

    // §5.3: the leader appends a proposal and sends it to every follower, with the index and
    // term of the preceding entry.
    @Test func leaderReplicatesProposals() {
        let s = MemoryStorage()
        let r = leader(storage: s)
        // Followers acknowledge the empty entry first (probe -> replicate).
        for id: UInt64 in [2, 3] { r.stepOK(Message(type: .appResp, to: 1, from: id, term: 1, index: 1)) }
        _ = r.readMessages()
        r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: payload("x"))]))
        let msgs = r.readMessages().sorted { $0.to < $1.to }
        #expect(msgs.count == 2)
        for m in msgs {
            #expect(m.type == .app)
            #expect(m.index == 1)
            #expect(m.logTerm == 1)
            #expect(m.entries == [Entry(term: 1, index: 2, data: payload("x"))])
            #expect(m.commit == 1)
        }
        #expect(r.log.unstableEntries == [Entry(term: 1, index: 2, data: payload("x"))])
    }

    // §5.3: an entry is committed once a majority has it; the leader tells followers.
    @Test func leaderCommitsOnMajority() {
        let r = leader([1, 2, 3, 4, 5])
        r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: payload("x"))]))
        _ = r.readMessages()
        #expect(r.log.committed == 0)
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 2))
        #expect(r.log.committed == 0)
        r.stepOK(Message(type: .appResp, to: 1, from: 3, term: 1, index: 2))
        #expect(r.log.committed == 2)
        let apps = r.readMessages().filter { $0.type == .app }
        // Followers 4 and 5 are still being probed (paused) and learn it later.
        for id: UInt64 in [2, 3] {
            #expect(apps.last { $0.to == id }?.commit == 2, "the latest append to \(id) carries the new commit index")
        }
    }

    // §5.3: acknowledgement table (which followers answer -> committed?).
    @Test(arguments: [
        (1, [UInt64](), true), (3, [], false), (3, [2], true), (3, [2, 3], true),
        (5, [], false), (5, [2], false), (5, [2, 3], true), (5, [2, 3, 4, 5], true),
    ])
    func commitNeedsMajorityAcks(_ size: Int, _ ackers: [UInt64], _ committed: Bool) {
        let r = leader((1...UInt64(size)).map { $0 })
        r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: payload("x"))]))
        for id in ackers { r.stepOK(Message(type: .appResp, to: 1, from: id, term: 1, index: 2)) }
        #expect((r.log.committed >= 2) == committed)
    }

    // §5.3: committing an entry commits all preceding entries, including earlier terms'.
    @Test func commitIncludesPrecedingEntries() {
        let s = storageWith(terms: [2, 2])
        s.setHardState(HardState(term: 2))
        let r = newTestRaft(1, peers: [1, 2, 3], storage: s)
        r.loadTerm(2)
        r.becomeCandidate()
        r.becomeLeader()
        r.persistAndApply(s)
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 3, index: 3))
        #expect(r.log.committed == 3)
        #expect(r.log.nextEntries().map(\.index) == [1, 2, 3])
    }

    // §5.3: followers commit what the leader says is committed (bounded by what they have).
    @Test func followerCommitsLeaderCommit() {
        let r = newTestRaft(1, peers: [1, 2, 3])
        r.becomeFollower(term: 1, lead: 2)
        let ents = [Entry(term: 1, index: 1), Entry(term: 1, index: 2)]
        r.stepOK(Message(type: .app, to: 1, from: 2, term: 1, logTerm: 0, index: 0, entries: ents, commit: 5))
        #expect(r.log.committed == 2)
        r.stepOK(Message(type: .app, to: 1, from: 2, term: 1, logTerm: 1, index: 2, commit: 1))
        #expect(r.log.committed == 2, "commit never moves backwards")
    }

    // §5.3 consistency check: a follower refuses entries whose predecessor it lacks, hinting
    // where to retry.
    @Test(arguments: [
        // prev term, prev index, rejected, hint
        (UInt64(0), UInt64(0), false, UInt64(0)),
        (1, 1, false, 0),
        (2, 2, false, 0),
        (1, 2, true, 1), // term mismatch at 2: our entry 1 has term 1 <= 1
        (3, 3, true, 2), // index 3 missing
    ])
    func consistencyCheck(_ logTerm: UInt64, _ index: UInt64, _ rejected: Bool, _ hint: UInt64) {
        let r = newTestRaft(1, peers: [1, 2], storage: storageWith(terms: [1, 2]))
        r.becomeFollower(term: 2, lead: 2)
        r.stepOK(Message(type: .app, to: 1, from: 2, term: 2, logTerm: logTerm, index: index))
        let m = r.readMessages()
        #expect(m.count == 1)
        #expect(m[0].type == .appResp)
        #expect(m[0].reject == rejected)
        if rejected { #expect(m[0].rejectHint == hint) }
    }

    // §5.3: conflicting entries are deleted with everything after them; new ones appended.
    @Test(arguments: [
        (UInt64(2), UInt64(2), [Entry(term: 3, index: 3)], [UInt64(1), 2, 3]),
        (1, 1, [Entry(term: 3, index: 2), Entry(term: 4, index: 3)], [1, 3, 4]),
        (0, 0, [Entry(term: 1, index: 1)], [1, 2]),
        (0, 0, [Entry(term: 3, index: 1)], [3]),
    ])
    func followerRepairsConflicts(_ prevIndex: UInt64, _ prevTerm: UInt64, _ ents: [Entry], _ want: [UInt64]) {
        let r = newTestRaft(1, peers: [1, 2], storage: storageWith(terms: [1, 2]))
        r.becomeFollower(term: 2, lead: 2)
        r.stepOK(Message(type: .app, to: 1, from: 2, term: 2, logTerm: prevTerm, index: prevIndex, entries: ents))
        #expect(r.logTerms == want)
    }

    // §5.3, Figure 7: whatever a follower's log looks like, the leader brings it in line.
    @Test(arguments: [
        [UInt64(1), 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing entries
        [1, 1, 1, 4],                         // (b)
        [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],    // (c) extra uncommitted entries
        [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d)
        [1, 1, 1, 4, 4, 4, 4],                // (e)
        [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],    // (f)
    ])
    func leaderRepairsAnyFollowerLog(_ followerTerms: [UInt64]) {
        let leaderTerms: [UInt64] = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
        let leaderStore = storageWith(terms: leaderTerms)
        leaderStore.setHardState(HardState(term: 8, commit: UInt64(leaderTerms.count)))
        let lead = newTestRaft(1, peers: [1, 2, 3], storage: leaderStore)
        let followerStore = storageWith(terms: followerTerms)
        followerStore.setHardState(HardState(term: 7))
        let follower = newTestRaft(2, peers: [1, 2, 3], storage: followerStore)
        // Node 3 votes for the leader so it wins term 9.
        let nt = Network(3, custom: [1: lead, 2: follower])
        nt.campaign(1)
        #expect(lead.state == .leader)
        nt.propose(1)
        #expect(follower.logTerms == lead.logTerms)
        #expect(follower.log.committed == lead.log.committed)
    }

    // §5.4.2, Figure 8: a leader never commits an entry of an earlier term by counting
    // replicas, because a later leader may legitimately overwrite it.
    @Test func figure8PreviousTermEntriesAreNotCommittedByCounting() {
        // (c) S1 leads term 4 with [1, 2]; S5 holds [1, 3] from its short reign in term 3.
        func node(_ id: UInt64, _ terms: [UInt64], term: UInt64) -> Raft {
            let s = storageWith(terms: terms)
            s.setHardState(HardState(term: term))
            return newTestRaft(id, peers: [1, 2, 3, 4, 5], storage: s)
        }
        let s1 = node(1, [1, 2], term: 3)
        let s2 = node(2, [1, 2], term: 3)
        let s3 = node(3, [1], term: 3)
        let s4 = node(4, [1], term: 3)
        let s5 = node(5, [1, 3], term: 4)
        let nt = Network(5, custom: [1: s1, 2: s2, 3: s3, 4: s4, 5: s5])
        s1.becomeCandidate()
        s1.becomeLeader()
        #expect(s1.term == 4)
        _ = s1.readMessages()
        // S1 replicates its term-2 entry to S3 (but not its new term-4 entry): index 2 is now
        // on a majority (S1, S2, S3) ...
        nt.filter = { m in !(m.from == 1 && m.type == .app && (m.to != 3 || m.entries.contains { $0.term == 4 })) }
        nt.send(Message(type: .app, to: 3, from: 1, term: 4, logTerm: 1, index: 1, entries: [Entry(term: 2, index: 2)]))
        nt.send(Message(type: .appResp, to: 1, from: 2, term: 4, index: 2))
        #expect(s3.logTerms == [1, 2])
        // ... yet it is not committed: its term is not the leader's.
        #expect(s1.log.committed == 0)
        // (d) S1 crashes; S5 can win term 5 (its last term 3 beats 2) and overwrite index 2
        // everywhere. Had S1 committed index 2, this would have lost a committed entry.
        nt.recover()
        nt.isolate(1)
        nt.campaign(5)
        #expect(s5.state == .leader)
        #expect(s2.log.termOrZero(2) == 3)
        #expect(s3.log.termOrZero(2) == 3)
        // (e) Had S1 instead replicated an entry of its own term to a majority, both would be
        // committed and S5 could no longer win.
        let t1 = node(1, [1, 2], term: 3)
        t1.becomeCandidate()
        t1.becomeLeader()
        for id: UInt64 in [2, 3] { t1.stepOK(Message(type: .appResp, to: 1, from: id, term: 4, index: 3)) }
        #expect(t1.log.committed == 3)
        let voter = node(2, [1, 2, 4], term: 4)
        voter.stepOK(Message(type: .vote, to: 2, from: 5, term: 5, logTerm: 3, index: 2))
        #expect(voter.readMessages().first?.reject == true)
    }

    // The direct rule behind Figure 8, at the level of one leader.
    @Test func leaderOnlyCommitsCurrentTermByCounting() {
        let s = storageWith(terms: [1, 2])
        let r = newTestRaft(1, peers: [1, 2], storage: s)
        r.loadTerm(2)
        r.becomeCandidate()
        r.becomeLeader()
        // Term 3; the follower acknowledges index 2 (term 2): not committable by counting.
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: r.term, index: 2))
        #expect(r.log.committed == 0)
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: r.term, index: 3))
        #expect(r.log.committed == 3)
    }

    // Fast log back-off: a follower with a long divergent tail is repaired in few round trips.
    @Test func rejectionHintsSkipWholeTerms() {
        var followerTerms: [UInt64] = [1]
        followerTerms += Array(repeating: 2, count: 50)
        var leaderTerms: [UInt64] = [1]
        leaderTerms += Array(repeating: 3, count: 50)
        let ls = storageWith(terms: leaderTerms)
        ls.setHardState(HardState(term: 3))
        let fs = storageWith(terms: followerTerms)
        fs.setHardState(HardState(term: 2))
        let lead = newTestRaft(1, peers: [1, 2, 3], storage: ls)
        let follower = newTestRaft(2, peers: [1, 2, 3], storage: fs)
        let nt = Network(3, custom: [1: lead, 2: follower])
        nt.campaign(1)
        #expect(lead.state == .leader)
        #expect(follower.logTerms == lead.logTerms)
        let rejections = nt.delivered.filter { $0.type == .appResp && $0.reject && $0.from == 2 }
        #expect(rejections.count <= 2, "took \(rejections.count) rejections")
    }

    // Stale (reordered) acknowledgements never move progress backwards.
    @Test func staleAppendResponseIsIgnored() {
        let r = leader()
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 1))
        for _ in 0..<3 { r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])])) }
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 4))
        let match = r.trk.progress[2]!.match
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 2))
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 1, reject: true, rejectHint: 0))
        #expect(r.trk.progress[2]!.match == match)
        #expect(r.trk.progress[2]!.state == .replicate)
    }

    // Flow control: in probe state one append at a time; in replicate state up to the window.
    @Test func probeSendsOneAppendAtATime() {
        let r = leader()
        _ = r.readMessages()
        for _ in 0..<3 { r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])])) }
        let toTwo = r.readMessages().filter { $0.to == 2 && $0.type == .app }
        #expect(toTwo.count == 1, "probing: wait for an answer before sending more")
        #expect(r.trk.progress[2]!.probeSent)
        // A heartbeat response unpauses the probe.
        r.stepOK(Message(type: .heartbeatResp, to: 1, from: 2, term: 1))
        #expect(r.readMessages().contains { $0.to == 2 && $0.type == .app })
    }

    @Test func replicateWindowBoundsInflightAppends() {
        let s = MemoryStorage()
        let r = newTestRaft(1, peers: [1, 2], storage: s) {
            $0.maxInflightMsgs = 3
            $0.maxSizePerMsg = 0
        }
        r.becomeCandidate()
        r.becomeLeader()
        r.persistAndApply(s)
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 1))
        _ = r.readMessages()
        for _ in 0..<10 { r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])])) }
        let apps = r.readMessages().filter { $0.type == .app }
        #expect(apps.count == 3)
        #expect(r.trk.progress[2]!.inflights.isFull)
        // Acknowledging the first frees one slot.
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: apps[0].entries.last!.index))
        #expect(r.readMessages().filter { $0.type == .app }.count == 1)
    }

    @Test func maxSizePerMessageBatchesEntries() {
        let s = MemoryStorage()
        let r = newTestRaft(1, peers: [1, 2], storage: s) { $0.maxSizePerMsg = 100 }
        r.becomeCandidate()
        r.becomeLeader()
        r.persistAndApply(s)
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 1))
        _ = r.readMessages()
        let data = [UInt8](repeating: 7, count: 26)  // 50 bytes per entry with overhead
        for _ in 0..<6 { r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: data)])) }
        r.persistAndApply(s)
        _ = r.readMessages()
        // Reset to probing from the start: the next sends are batched by size.
        r.trk.progress[2]!.becomeProbe()
        r.sendAppend(to: 2)
        let m = r.readMessages()
        #expect(m.count == 1)
        #expect(m[0].entries.count == 2)
    }

    // A leader with an unreachable follower falls back to probing.
    @Test func unreachableFollowerIsProbed() {
        let r = leader()
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 1))
        #expect(r.trk.progress[2]!.state == .replicate)
        r.stepOK(Message(type: .unreachable, from: 2))
        #expect(r.trk.progress[2]!.state == .probe)
    }

    // Heartbeats never advance a follower's commit beyond what it is known to have.
    @Test func heartbeatCommitIsBoundedByMatch() {
        let r = leader()
        r.stepOK(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])]))
        r.stepOK(Message(type: .appResp, to: 1, from: 2, term: 1, index: 2))
        #expect(r.log.committed == 2)
        _ = r.readMessages()
        r.stepOK(Message(type: .beat, from: 1))
        let hb = r.readMessages().filter { $0.type == .heartbeat }
        #expect(hb.first { $0.to == 2 }?.commit == 2)
        #expect(hb.first { $0.to == 3 }?.commit == 0)
    }

    // A leader elected with a stale uncommitted tail on a follower overwrites it (Log Matching).
    @Test func logsConvergeAfterLeaderChange() {
        let nt = Network(3)
        nt.campaign(1)
        nt.propose(1, payload("a"))
        nt.isolate(1)
        nt.propose(1, payload("lost"))
        nt.propose(1, payload("lost2"))
        nt.campaign(2)
        nt.propose(2, payload("b"))
        nt.recover()
        nt.send(Message(type: .beat, to: 2, from: 2))
        nt.propose(2, payload("c"))
        #expect(nt[1].logTerms == nt[2].logTerms)
        #expect(nt[1].log.allEntries() == nt[3].log.allEntries())
        #expect(nt[1].log.committed == nt[2].log.committed)
    }
}
