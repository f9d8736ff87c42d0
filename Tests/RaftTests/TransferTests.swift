import Testing
@testable import Raft

/// Leadership transfer (thesis §3.10): the leader brings the transferee up to date, then tells
/// it to campaign at once with `timeoutNow`.
@Suite struct TransferTests {
    func cluster(_ configure: @escaping (inout Config) -> Void = { _ in }) -> Network {
        let nt = Network(3, configure)
        nt.campaign(1)
        #expect(nt[1].state == .leader)
        return nt
    }

    @Test func transferToUpToDateFollower() {
        let nt = cluster()
        nt.send(Message(type: .transferLeader, to: 1, from: 2))
        #expect(nt[2].state == .leader)
        #expect(nt[1].state == .follower)
        #expect(nt[1].lead == 2)
        #expect(nt[2].term == 2)
        #expect(nt[1].leadTransferee == noNode)
    }

    // The request may arrive at a follower, which forwards it to the leader.
    @Test func transferRequestForwardedByFollower() {
        let nt = cluster()
        nt.send(Message(type: .transferLeader, to: 2, from: 2))
        #expect(nt[2].state == .leader)
    }

    // A lagging transferee is caught up first; timeoutNow follows its acknowledgement.
    @Test func transferToLaggingFollower() {
        let nt = cluster()
        nt.isolate(3)
        nt.propose(1)
        nt.propose(1)
        #expect(nt[3].log.lastIndex < nt[1].log.lastIndex)
        nt.recover()
        nt.ignore(.appResp)
        nt.send(Message(type: .transferLeader, to: 1, from: 3))
        #expect(nt[1].leadTransferee == 3)
        #expect(nt[1].state == .leader)
        #expect(!nt.delivered.contains { $0.type == .timeoutNow })
        nt.recover()
        // Node 3 catches up through the next heartbeat round; then the transfer completes.
        nt.send(Message(type: .beat, to: 1, from: 1))
        #expect(nt[3].state == .leader)
        #expect(nt[1].state == .follower)
        #expect(nt[3].log.committed == nt[3].log.lastIndex)
    }

    // Proposals are refused while a transfer is under way.
    @Test func proposalsDroppedDuringTransfer() {
        let nt = cluster()
        nt.isolate(3)
        nt.send(Message(type: .transferLeader, to: 1, from: 3))
        #expect(nt[1].leadTransferee == 3)
        #expect(throws: RaftError.proposalDropped) {
            try nt[1].step(Message(type: .prop, from: 1, entries: [Entry(term: 0, index: 0, data: [1])]))
        }
    }

    // A transfer that does not complete within an election timeout is abandoned.
    @Test func transferTimesOut() {
        let nt = cluster()
        nt.isolate(3)
        nt.send(Message(type: .transferLeader, to: 1, from: 3))
        #expect(nt[1].leadTransferee == 3)
        for _ in 0..<nt[1].electionTimeout { nt[1].tick() }
        #expect(nt[1].leadTransferee == noNode)
        #expect(nt[1].state == .leader)
        nt.recover()
        nt.propose(1)
    }

    @Test func transferToSelfOrLearnerOrStrangerIsIgnored() {
        let s = MemoryStorage()
        let r = newTestRaft(1, peers: [1, 2], learners: [3], storage: s)
        r.becomeCandidate()
        r.becomeLeader()
        r.stepOK(Message(type: .transferLeader, from: 1))
        #expect(r.leadTransferee == noNode)
        r.stepOK(Message(type: .transferLeader, from: 3))
        #expect(r.leadTransferee == noNode)
        r.stepOK(Message(type: .transferLeader, from: 9))
        #expect(r.leadTransferee == noNode)
        #expect(r.state == .leader)
    }

    // A repeated request for the same target changes nothing; a new target replaces the old.
    @Test func secondTransferRequest() {
        let nt = cluster()
        nt.isolate(3)
        nt.isolate(2)
        nt.send(Message(type: .transferLeader, to: 1, from: 3))
        let elapsed = 3
        for _ in 0..<elapsed { nt[1].tick() }
        nt.send(Message(type: .transferLeader, to: 1, from: 3))
        #expect(nt[1].electionElapsed == elapsed, "same target: the timer is not reset")
        nt.send(Message(type: .transferLeader, to: 1, from: 2))
        #expect(nt[1].leadTransferee == 2)
        #expect(nt[1].electionElapsed == 0)
    }

    // The transferee campaigns without pre-vote and its votes override followers' leases.
    @Test func transferBypassesPreVoteAndLeases() {
        let nt = cluster {
            $0.preVote = true
            $0.checkQuorum = true
        }
        nt.delivered = []
        nt.send(Message(type: .transferLeader, to: 1, from: 2))
        #expect(nt[2].state == .leader)
        #expect(!nt.delivered.contains { $0.type == .preVote })
    }

    // Removing the transferee aborts the transfer.
    @Test func removingTransfereeAbortsTransfer() throws {
        let nt = cluster()
        nt.isolate(3)
        nt.send(Message(type: .transferLeader, to: 1, from: 3))
        #expect(nt[1].leadTransferee == 3)
        _ = try nt[1].applyConfChange(ConfChange(type: .removeNode, nodeID: 3).asV2)
        #expect(nt[1].leadTransferee == noNode)
    }

    // A node that is not promotable (a learner) ignores timeoutNow.
    @Test func learnerIgnoresTimeoutNow() {
        let r = newTestRaft(3, peers: [1, 2], learners: [3])
        r.becomeFollower(term: 1, lead: 1)
        r.stepOK(Message(type: .timeoutNow, to: 3, from: 1, term: 1))
        #expect(r.state == .follower)
        #expect(r.term == 1)
    }
}
