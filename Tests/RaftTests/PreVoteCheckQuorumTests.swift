import Testing
@testable import Raft

/// Pre-vote (thesis §9.6) and check-quorum / leader leases (thesis §6.2, §4.2.3).
@Suite struct PreVoteCheckQuorumTests {
    func tickUntilElection(_ r: Raft) {
        for _ in 0..<(2 * r.electionTimeout) { r.tick() }
    }

    // Pre-vote: a pre-candidate asks for votes for term+1 without changing its own term.
    @Test func preVoteDoesNotIncreaseTerm() {
        let r = newTestRaft(1, peers: [1, 2, 3]) { $0.preVote = true }
        while r.state == .follower { r.tick() }
        #expect(r.state == .preCandidate)
        #expect(r.term == 0)
        #expect(r.vote == noNode)
        let msgs = r.readMessages()
        #expect(msgs.count == 2)
        #expect(msgs.allSatisfy { $0.type == .preVote && $0.term == 1 })
    }

    // Winning the pre-vote starts the real election; losing it returns to follower, same term.
    @Test func preVoteOutcome() {
        let r = newTestRaft(1, peers: [1, 2, 3]) { $0.preVote = true }
        r.stepOK(Message(type: .hup, from: 1))
        r.stepOK(Message(type: .preVoteResp, to: 1, from: 2, term: 1))
        #expect(r.state == .candidate)
        #expect(r.term == 1)

        let l = newTestRaft(1, peers: [1, 2, 3]) { $0.preVote = true }
        l.stepOK(Message(type: .hup, from: 1))
        l.stepOK(Message(type: .preVoteResp, to: 1, from: 2, term: 0, reject: true))
        l.stepOK(Message(type: .preVoteResp, to: 1, from: 3, term: 0, reject: true))
        #expect(l.state == .follower)
        #expect(l.term == 0)
    }

    // A pre-vote is granted without recording a vote or changing the voter's term.
    @Test func grantingPreVoteChangesNothing() {
        let r = newTestRaft(2, peers: [1, 2, 3]) { $0.preVote = true }
        r.loadTerm(3, vote: 3)
        r.stepOK(Message(type: .preVote, to: 2, from: 1, term: 4, logTerm: 0, index: 0))
        let m = r.readMessages()
        #expect(m.count == 1)
        #expect(m[0].type == .preVoteResp && !m[0].reject && m[0].term == 4)
        #expect(r.term == 3)
        #expect(r.vote == 3)
    }

    // A pre-vote from a lower term is rejected with our term, so the sender learns it.
    @Test func staleTermPreVoteIsRejectedWithCurrentTerm() {
        let r = newTestRaft(2, peers: [1, 2, 3]) { $0.preVote = true }
        r.loadTerm(5)
        r.stepOK(Message(type: .preVote, to: 2, from: 1, term: 3))
        let m = r.readMessages()
        #expect(m.count == 1)
        #expect(m[0].type == .preVoteResp && m[0].reject && m[0].term == 5)
    }

    // Thesis §9.6: a node that was partitioned away does not disrupt the cluster when it
    // returns, because its pre-votes fail (the others have a leader / a longer log).
    @Test func rejoiningNodeDoesNotDisruptWithPreVote() {
        let nt = Network(3) { $0.preVote = true }
        nt.campaign(1)
        #expect(nt[1].state == .leader)
        nt.isolate(3)
        nt.propose(1)
        for _ in 0..<5 {
            tickUntilElection(nt[3])
            nt.send(nt[3].readMessages())
        }
        #expect(nt[3].term == 1, "pre-votes never raise the term")
        nt.recover()
        tickUntilElection(nt[3])
        nt.send(nt[3].readMessages())
        #expect(nt[1].state == .leader)
        #expect(nt[1].term == 1)
        #expect(nt[3].state != .leader)
    }

    // Without pre-vote the returning node's higher term deposes the leader: the disruption
    // pre-vote exists to prevent.
    @Test func rejoiningNodeDisruptsWithoutPreVote() {
        let nt = Network(3)
        nt.campaign(1)
        nt.isolate(3)
        for _ in 0..<3 {
            tickUntilElection(nt[3])
            nt.send(nt[3].readMessages())
        }
        #expect(nt[3].term > 1)
        nt.recover()
        tickUntilElection(nt[3])
        nt.send(nt[3].readMessages())
        #expect(nt[1].term > 1)
    }

    // Check-quorum: a leader that has not heard from a quorum for an election timeout steps
    // down (thesis §6.2).
    @Test func leaderStepsDownWithoutQuorum() {
        let nt = Network(3) { $0.checkQuorum = true }
        nt.campaign(1)
        #expect(nt[1].state == .leader)
        nt.isolate(1)
        for _ in 0..<(nt[1].electionTimeout + 1) { nt[1].tick() }
        #expect(nt[1].state == .leader, "the first check sees the pre-partition activity")
        for _ in 0..<nt[1].electionTimeout { nt[1].tick() }
        #expect(nt[1].state == .follower)
        #expect(nt[1].term == 1)
    }

    @Test func leaderWithQuorumStaysLeader() {
        let nt = Network(3) { $0.checkQuorum = true }
        nt.campaign(1)
        nt.isolate(3)
        for _ in 0..<(4 * nt[1].electionTimeout) {
            nt[1].tick()
            nt.send(nt[1].readMessages())
        }
        #expect(nt[1].state == .leader)
    }

    // Leases: with check-quorum, a follower that heard from the leader recently ignores a vote
    // request (and does not adopt its term), unless it is a leadership transfer.
    @Test func followerInLeaseIgnoresVotes() {
        let r = newTestRaft(2, peers: [1, 2, 3]) { $0.checkQuorum = true }
        r.becomeFollower(term: 1, lead: 1)
        r.stepOK(Message(type: .vote, to: 2, from: 3, term: 2, logTerm: 0, index: 0))
        #expect(r.term == 1)
        #expect(r.readMessages().isEmpty)
        // A forced (transfer) vote goes through.
        r.stepOK(Message(type: .vote, to: 2, from: 3, term: 2, logTerm: 0, index: 0, context: campaignTransferContext))
        #expect(r.term == 2)
        #expect(r.readMessages().first?.reject == false)
    }

    @Test func followerOutOfLeaseVotes() {
        let r = newTestRaft(2, peers: [1, 2, 3]) { $0.checkQuorum = true }
        r.becomeFollower(term: 1, lead: 1)
        r.electionElapsed = r.electionTimeout
        r.stepOK(Message(type: .vote, to: 2, from: 3, term: 2, logTerm: 0, index: 0))
        #expect(r.term == 2)
        #expect(r.readMessages().first?.reject == false)
    }

    // With check-quorum, a partitioned node keeps campaigning and raising its term; when it
    // returns, its higher term reaches the leader through a response, which frees the cluster
    // to hold an election the stuck node can take part in.
    @Test func stuckCandidateIsFreedWithCheckQuorum() {
        let nt = Network(3) { $0.checkQuorum = true }
        nt.campaign(1)
        #expect(nt[1].state == .leader)
        // Node 3 is partitioned and campaigns repeatedly, raising its term.
        nt.isolate(3)
        for _ in 0..<4 {
            tickUntilElection(nt[3])
            nt.send(nt[3].readMessages())
        }
        #expect(nt[3].term > 1)
        nt.recover()
        // The leader's heartbeat reaches node 3, whose stale-term answer makes the leader step down.
        nt.send(Message(type: .beat, to: 1, from: 1))
        #expect(nt[1].state == .follower)
        #expect(nt[1].term == nt[3].term)
        // Once node 2's lease runs out, the cluster elects a leader again (not node 3: its log
        // is behind).
        nt[2].electionElapsed = nt[2].electionTimeout
        nt.campaign(1)
        #expect(nt[1].state == .leader)
    }

    // A node that is not a voter in its own (stale) configuration cannot campaign to spread a
    // higher term it picked up (say, from a removed node's vote request). It answers the
    // lower-term leader instead, which steps down; otherwise it would never hear from it again.
    @Test func nonPromotableNodeWithHigherTermAnswersStaleLeader() {
        let r = newTestRaft(4, peers: [1, 2, 3])  // does not yet know it was added
        r.stepOK(Message(type: .vote, to: 4, from: 2, term: 3, logTerm: 9, index: 9))
        #expect(r.term == 3)
        _ = r.readMessages()
        r.stepOK(Message(type: .heartbeat, to: 4, from: 1, term: 2))
        let m = r.readMessages()
        #expect(m.count == 1)
        #expect(m.first?.type == .appResp && m.first?.term == 3)
        // A voter (without check-quorum or pre-vote) stays silent: it will campaign itself.
        let v = newTestRaft(3, peers: [1, 2, 3])
        v.loadTerm(3)
        v.stepOK(Message(type: .heartbeat, to: 3, from: 1, term: 2))
        #expect(v.readMessages().isEmpty)
    }

    // Check-quorum together with pre-vote: an isolated leader steps down; a new leader
    // emerges among the rest and the old one rejoins as follower.
    @Test func isolatedLeaderIsReplaced() {
        let nt = Network(5) {
            $0.checkQuorum = true
            $0.preVote = true
        }
        nt.campaign(1)
        nt.isolate(1)
        for _ in 0..<(3 * nt[1].electionTimeout) { nt[1].tick() }
        #expect(nt[1].state != .leader)
        _ = nt[1].readMessages()
        for id: UInt64 in [2, 3, 4, 5] { nt[id].electionElapsed = nt[id].electionTimeout }
        nt.campaign(2)
        #expect(nt[2].state == .leader)
        nt.recover()
        nt.send(Message(type: .beat, to: 2, from: 2))
        nt.propose(2)
        #expect(nt[1].state == .follower)
        #expect(nt[1].lead == 2)
        #expect(nt[1].log.committed == nt[2].log.committed)
    }
}
