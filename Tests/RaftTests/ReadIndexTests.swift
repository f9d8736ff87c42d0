import Testing
@testable import Raft

/// Linearizable reads (thesis §6.4): ReadIndex confirmed by a heartbeat quorum, batching,
/// forwarding, the first-commit rule, and the lease-based variant.
@Suite struct ReadIndexTests {
    func readIndex(_ nt: Network, at id: UInt64, _ ctx: String) {
        nt.send(Message(type: .readIndex, to: id, from: id, entries: [Entry(term: 0, index: 0, data: payload(ctx))]))
    }

    @Test func leaderConfirmsWithHeartbeatQuorum() {
        let nt = Network(3)
        nt.campaign(1)
        nt.propose(1)
        nt.ignore(.heartbeatResp)
        readIndex(nt, at: 1, "a")
        #expect(nt[1].readStates.isEmpty, "not confirmed without heartbeat acks")
        nt.recover()
        readIndex(nt, at: 1, "b")
        #expect(nt[1].readStates.map(\.requestContext) == [payload("a"), payload("b")], "one round confirms both")
        #expect(nt[1].readStates.allSatisfy { $0.index == nt[1].log.committed })
    }

    @Test func followerForwardsToLeader() {
        let nt = Network(3)
        nt.campaign(1)
        nt.propose(1)
        readIndex(nt, at: 2, "f")
        #expect(nt[2].readStates == [ReadState(index: nt[1].log.committed, requestContext: payload("f"))])
        #expect(nt[1].readStates.isEmpty)
    }

    // The read index is the commit index when the request arrived, even if more commits follow
    // before it is confirmed.
    @Test func readIndexIsCommitAtArrival() {
        let nt = Network(3)
        nt.campaign(1)
        nt.propose(1)
        let committed = nt[1].log.committed
        nt.ignore(.heartbeatResp)
        readIndex(nt, at: 1, "x")
        nt.recover()
        nt.propose(1)
        nt.send(Message(type: .beat, to: 1, from: 1))
        #expect(nt[1].readStates.first?.index == committed)
    }

    // A new leader answers no read before an entry of its own term is committed: until then
    // its commit index may be behind its predecessor's.
    @Test func newLeaderDefersReadsUntilItsFirstCommit() {
        let nt = Network(3)
        nt.campaign(1)
        nt.ignore(.appResp)
        nt.campaign(2)
        #expect(nt[2].state == .leader)
        #expect(!nt[2].committedEntryInCurrentTerm)
        readIndex(nt, at: 2, "early")
        #expect(nt[2].readStates.isEmpty)
        #expect(nt[2].pendingReadIndexMessages.count == 1)
        nt.recover()
        nt.send(Message(type: .beat, to: 2, from: 2))
        #expect(nt[2].committedEntryInCurrentTerm)
        #expect(nt[2].readStates.map(\.requestContext) == [payload("early")])
        #expect(nt[2].readStates[0].index == nt[2].log.committed)
    }

    @Test func singleNodeAnswersAtOnce() {
        let r = newTestRaft(1, peers: [1])
        r.stepOK(Message(type: .hup, from: 1))
        r.stepOK(Message(type: .readIndex, entries: [Entry(term: 0, index: 0, data: payload("s"))]))
        #expect(r.readStates == [ReadState(index: r.log.committed, requestContext: payload("s"))])
    }

    @Test func leaseBasedReadsNeedNoRoundTrip() {
        let nt = Network(3) {
            $0.checkQuorum = true
            $0.readOnlyOption = .leaseBased
        }
        nt.campaign(1)
        nt.propose(1)
        nt.ignore(.heartbeat)
        readIndex(nt, at: 1, "l")
        #expect(nt[1].readStates.map(\.requestContext) == [payload("l")])
        readIndex(nt, at: 2, "lf")
        #expect(nt[2].readStates.map(\.requestContext) == [payload("lf")])
    }

    @Test func leaseBasedRequiresCheckQuorum() {
        #expect(throws: RaftError.self) {
            try Config(id: 1, readOnlyOption: .leaseBased).validate()
        }
    }

    // A deposed leader cannot confirm a read: its heartbeats get no quorum in its term.
    @Test func partitionedLeaderCannotServeReads() {
        let nt = Network(3)
        nt.campaign(1)
        nt.isolate(1)
        nt.campaign(2)
        nt.propose(2)
        readIndex(nt, at: 1, "stale")
        #expect(nt[1].readStates.isEmpty)
        nt.recover()
        nt.send(Message(type: .beat, to: 1, from: 1))
        #expect(nt[1].readStates.isEmpty)
        nt.send(Message(type: .beat, to: 2, from: 2))
        #expect(nt[1].state == .follower)
        #expect(nt[1].readOnly.isEmpty)
    }

    @Test func followerWithoutLeaderDropsRead() {
        let r = newTestRaft(2, peers: [1, 2, 3])
        r.stepOK(Message(type: .readIndex, from: 2, entries: [Entry(term: 0, index: 0, data: payload("n"))]))
        #expect(r.readMessages().isEmpty)
        #expect(r.readStates.isEmpty)
    }

    // Reads pending on a leader are dropped when it loses leadership (the caller retries).
    @Test func pendingReadsDroppedOnStepDown() {
        let nt = Network(3)
        nt.campaign(1)
        nt.propose(1)
        nt.ignore(.heartbeatResp)
        readIndex(nt, at: 1, "p")
        nt.recover()
        nt[1].becomeFollower(term: 2, lead: noNode)
        #expect(nt[1].readOnly.isEmpty)
    }
}
