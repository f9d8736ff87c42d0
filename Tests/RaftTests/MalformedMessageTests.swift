import Testing
@testable import Raft

/// Appends and heartbeats no correct leader sends (found by Tests/Fuzz): a follower must drop
/// them, not trap.
@Suite struct MalformedMessageTests {
    /// A follower of term 2 whose log holds entries 1...3, the first two committed, after
    /// stepping an append of `entries` after `index` from its leader.
    func follower(stepping entries: [Entry], after index: UInt64, commit: UInt64 = 3) -> Raft {
        let r = newTestRaft(1, peers: [1, 2, 3], storage: storageWith(terms: [1, 1, 2]))
        r.becomeFollower(term: 2, lead: 2)
        r.log.commitTo(2)
        r.stepOK(Message(type: .app, to: 1, from: 2, term: 2, logTerm: 2, index: index, entries: entries, commit: commit))
        return r
    }

    /// Appends (entries, after index) that a follower with entries 1...3 must drop.
    static let malformed: [([Entry], UInt64)] = [
        // Entries 5 and 9 after index 3 (the fuzzer's input trapped in maybeAppend).
        ([Entry(term: 2, index: 5), Entry(term: 2, index: 9)], 3),
        ([Entry(term: 2, index: 1)], 3),
        ([Entry(term: 2, index: 0)], .max),
        ([Entry(term: 2, index: 4), Entry(term: 1, index: 5)], 3),
        ([Entry(term: 0, index: 4)], 3),
    ]

    @Test(arguments: malformed)
    func malformedAppendIsDropped(entries: [Entry], index: UInt64) {
        let r = follower(stepping: entries, after: index)
        #expect(r.log.lastIndex == 3)
        #expect(r.log.committed == 2)
    }

    @Test func appendAfterAMissingEntryOfTermZeroIsDropped() {
        // term(9) is 0 for a log ending at 3, so logTerm 0 "matched" and commitTo(9) trapped.
        let r = newTestRaft(1, peers: [1, 2, 3], storage: storageWith(terms: [1, 1, 2]))
        r.becomeFollower(term: 2, lead: 2)
        r.stepOK(Message(type: .app, to: 1, from: 2, term: 2, logTerm: 0, index: 9, commit: 9))
        #expect(r.log.committed == 0)
    }

    @Test func heartbeatCommittingBeyondTheLogIsIgnored() {
        let r = follower(stepping: [], after: 3)
        r.stepOK(Message(type: .heartbeat, to: 1, from: 2, term: 2, commit: 9))
        #expect(r.log.committed == 3)
    }

    @Test func wellFormedAppendStillAppends() {
        let r = follower(stepping: [Entry(term: 2, index: 4), Entry(term: 2, index: 5)], after: 3, commit: 5)
        #expect(r.log.lastIndex == 5)
        #expect(r.log.committed == 5)
    }
}
