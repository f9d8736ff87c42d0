import Testing
@testable import Raft

/// Leader election: the Raft paper §5.1 (terms), §5.2 (election), §5.4.1 (election restriction).
@Suite struct ElectionTests {
    // §5.1: a server that sees a higher term adopts it and becomes (or stays) a follower.
    @Test(arguments: [RaftState.follower, .candidate, .leader, .preCandidate])
    func higherTermTurnsAnyRoleIntoFollower(_ role: RaftState) {
        let r = newTestRaft(1, peers: [1, 2, 3])
        switch role {
        case .follower: r.becomeFollower(term: 1, lead: 2)
        case .candidate: r.becomeCandidate()
        case .preCandidate: r.becomePreCandidate()
        case .leader:
            r.becomeCandidate()
            r.becomeLeader()
        }
        r.stepOK(Message(type: .app, to: 1, from: 2, term: 2))
        #expect(r.term == 2)
        #expect(r.state == .follower)
        #expect(r.lead == 2)
    }

    // §5.1: requests with a stale term are rejected (ignored).
    @Test func staleTermMessagesAreIgnored() {
        let r = newTestRaft(1, peers: [1, 2, 3])
        r.loadTerm(2)
        r.stepOK(Message(type: .app, to: 1, from: 2, term: 1, entries: [Entry(term: 1, index: 1)]))
        #expect(r.readMessages().isEmpty)
        #expect(r.log.lastIndex == 0)
        #expect(r.term == 2)
    }

    @Test func nodesStartAsFollowers() {
        let r = newTestRaft(1, peers: [1, 2, 3])
        #expect(r.state == .follower)
        #expect(r.term == 0)
    }

    // §5.2: the leader sends heartbeats every heartbeat interval.
    @Test func leaderSendsHeartbeatsEveryHeartbeatTick() {
        let r = newTestRaft(1, peers: [1, 2, 3], heartbeat: 2)
        r.becomeCandidate()
        r.becomeLeader()
        r.persistAndApply(MemoryStorage())
        _ = r.readMessages()
        r.tick()
        #expect(r.readMessages().isEmpty)
        r.tick()
        let msgs = r.readMessages().sorted { $0.to < $1.to }
        #expect(msgs.map(\.type) == [.heartbeat, .heartbeat])
        #expect(msgs.map(\.to) == [2, 3])
        #expect(msgs.allSatisfy { $0.term == 1 })
    }

    // §5.2: a follower (or candidate) that hears nothing for an election timeout starts an
    // election: increments its term, votes for itself, asks every peer.
    @Test(arguments: [RaftState.follower, .candidate])
    func electionTimeoutStartsElection(_ role: RaftState) {
        let r = newTestRaft(1, peers: [1, 2, 3])
        if role == .candidate { r.becomeCandidate() }
        let startTerm = r.term
        for _ in 0..<(2 * r.electionTimeout) { r.tick() }
        #expect(r.state == .candidate)
        #expect(r.term == startTerm + 1)
        #expect(r.vote == 1)
        let msgs = r.readMessages().filter { $0.term == startTerm + 1 }
        #expect(Set(msgs.map(\.to)) == [2, 3])
        #expect(msgs.allSatisfy { $0.type == .vote })
    }

    // §5.2: a candidate wins with a majority, loses with a majority of rejections, waits otherwise.
    @Test(arguments: [
        (3, [2: true], RaftState.leader),
        (3, [2: true, 3: true], .leader),
        (3, [2: false, 3: false], .follower),
        (3, [2: false], .candidate),
        (5, [2: true, 3: true], .leader),
        (5, [2: true], .candidate),
        (5, [2: false, 3: false, 4: false], .follower),
        (5, [2: true, 3: false, 4: false], .candidate),
    ])
    func electionOutcomeFollowsVotes(_ size: Int, _ votes: [UInt64: Bool], _ expected: RaftState) {
        let r = newTestRaft(1, peers: (1...UInt64(size)).map { $0 })
        r.stepOK(Message(type: .hup, from: 1))
        for (id, granted) in votes.sorted(by: { $0.key < $1.key }) {
            r.stepOK(Message(type: .voteResp, to: 1, from: id, term: r.term, reject: !granted))
        }
        #expect(r.state == expected)
        #expect(r.term == 1)
    }

    // §5.2: each server votes for at most one candidate per term, first come first served.
    @Test(arguments: [(UInt64(0), UInt64(2), false), (0, 3, false), (2, 2, false), (3, 3, false), (2, 3, true), (3, 2, true)])
    func followerVotesOncePerTerm(_ priorVote: UInt64, _ candidate: UInt64, _ rejected: Bool) {
        let r = newTestRaft(1, peers: [1, 2, 3])
        r.loadTerm(1, vote: priorVote)
        r.stepOK(Message(type: .vote, to: 1, from: candidate, term: 1))
        let resp = r.readMessages()
        #expect(resp.count == 1)
        #expect(resp[0].type == .voteResp)
        #expect(resp[0].reject == rejected)
        if !rejected { #expect(r.vote == candidate) }
    }

    // §5.2: a candidate that hears from a leader of its own (or a newer) term steps down.
    @Test(arguments: [UInt64(1), 2])
    func candidateYieldsToLeader(_ leaderTerm: UInt64) {
        let r = newTestRaft(1, peers: [1, 2, 3])
        r.stepOK(Message(type: .hup, from: 1))
        #expect(r.state == .candidate)
        r.stepOK(Message(type: .app, to: 1, from: 2, term: leaderTerm))
        #expect(r.state == .follower)
        #expect(r.term == leaderTerm)
        #expect(r.lead == 2)
    }

    // §5.2: election timeouts are randomized in [electionTick, 2*electionTick).
    @Test func electionTimeoutIsRandomizedWithinBounds() {
        let r = newTestRaft(1, peers: [1])
        var seen: Set<Int> = []
        for term in 1...200 {
            r.becomeFollower(term: UInt64(term), lead: noNode)
            seen.insert(r.randomizedElectionTimeout)
            #expect(r.randomizedElectionTimeout >= r.electionTimeout)
            #expect(r.randomizedElectionTimeout < 2 * r.electionTimeout)
        }
        #expect(seen.count == r.electionTimeout, "every value of the range shows up")
    }

    // Randomness is seeded: the same config replays the same timeouts, different ids differ.
    @Test func electionTimeoutsAreDeterministic() {
        func timeouts(_ id: UInt64, seed: UInt64) -> [Int] {
            let r = newTestRaft(id, peers: [1, 2, 3]) { $0.seed = seed }
            return (1...20).map { t in
                r.becomeFollower(term: UInt64(t), lead: noNode)
                return r.randomizedElectionTimeout
            }
        }
        #expect(timeouts(1, seed: 9) == timeouts(1, seed: 9))
        #expect(timeouts(1, seed: 9) != timeouts(2, seed: 9))
        #expect(timeouts(1, seed: 9) != timeouts(1, seed: 10))
    }

    // §5.2: timeouts differ between nodes, so a single server usually times out first.
    @Test func randomizedTimeoutsAvoidSplitVotes() {
        let nt = Network(5)
        var ticks = 0
        while nt.ids.allSatisfy({ nt[$0].state != .leader }) && ticks < 100 {
            for id in nt.ids {
                nt[id].tick()
                nt.send(nt[id].readMessages())
            }
            ticks += 1
        }
        let leaders = nt.ids.filter { nt[$0].state == .leader }
        #expect(leaders.count == 1)
        #expect(ticks < 30)
    }

    @Test func singleNodeBecomesLeaderAtOnce() {
        let r = newTestRaft(1, peers: [1])
        r.stepOK(Message(type: .hup, from: 1))
        #expect(r.state == .leader)
        #expect(r.term == 1)
    }

    @Test func leaderIgnoresHup() {
        let nt = Network(3)
        nt.campaign(1)
        #expect(nt[1].state == .leader)
        nt.campaign(1)
        #expect(nt[1].term == 1)
    }

    // §5.4.1: a vote is granted only to a candidate whose log is at least as up to date.
    @Test(arguments: [
        // voter log terms, candidate last index, candidate last term, granted
        ([UInt64(1), 1], UInt64(2), UInt64(1), true),
        ([1, 1], 1, 1, false),
        ([1, 1], 3, 1, true),
        ([1, 1], 1, 2, true),
        ([1, 2], 3, 1, false),
        ([1, 2], 2, 2, true),
        ([1, 2], 1, 2, false),
        ([1, 2], 1, 3, true),
    ])
    func voteRequiresUpToDateLog(_ logTerms: [UInt64], _ lastIndex: UInt64, _ lastTerm: UInt64, _ granted: Bool) {
        let r = newTestRaft(1, peers: [1, 2], storage: storageWith(terms: logTerms))
        r.stepOK(Message(type: .vote, to: 1, from: 2, term: 3, logTerm: lastTerm, index: lastIndex))
        let msgs = r.readMessages()
        #expect(msgs.count == 1)
        #expect(msgs[0].reject == !granted)
    }

    // §5.4.1: candidates send their last index and term.
    @Test func voteRequestCarriesLastLogPosition() {
        let s = storageWith(terms: [1, 1, 2])
        s.setHardState(HardState(term: 2))
        let r = newTestRaft(1, peers: [1, 2, 3], storage: s)
        r.stepOK(Message(type: .hup, from: 1))
        let msgs = r.readMessages()
        #expect(msgs.count == 2)
        for m in msgs {
            #expect(m.index == 3)
            #expect(m.logTerm == 2)
            #expect(m.term == 3)
        }
    }

    // A node with a stale log cannot become leader; the up-to-date ones can.
    @Test func staleNodeCannotWin() {
        let nt = Network(3)
        nt.campaign(1)
        nt.cut(1, 3)
        nt.cut(2, 3)
        nt.propose(1)
        nt.recover()
        nt.campaign(3)
        #expect(nt[3].state != .leader)
        nt.campaign(2)
        #expect(nt[2].state == .leader)
    }

    // The vote is persisted in the hard state before the response goes out.
    @Test func voteIsPartOfHardState() throws {
        let s = MemoryStorage()
        let node = try RawNode(config: testConfig(2), storage: s, peers: [1, 2, 3])
        try node.step(Message(type: .vote, to: 2, from: 1, term: 5, logTerm: 0, index: 0))
        let rd = node.ready()
        #expect(rd.hardState == HardState(term: 5, vote: 1, commit: 0))
        #expect(rd.mustSync)
        #expect(rd.messages.first?.type == .voteResp)
    }
}

extension Raft {
    /// Test helper: set the term (and vote) as if loaded from a hard state.
    func loadTerm(_ t: UInt64, vote v: UInt64 = noNode) {
        term = t
        vote = v
    }
}
