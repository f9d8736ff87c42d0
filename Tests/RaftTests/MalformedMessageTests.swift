import Testing
@testable import Raft

/// Appends and heartbeats no correct leader sends (found by Tests/Fuzz): a follower must drop
/// them, not trap.
@Suite struct MalformedMessageTests {
    /// A follower of term 2 whose log holds entries 1...3, the first two committed, after
    /// stepping an append of `entries` after `index` from its leader; and why it was dropped.
    func follower(stepping entries: [Entry], after index: UInt64, commit: UInt64 = 3) -> (Raft, MessageDropReason?) {
        let r = newTestRaft(1, peers: [1, 2, 3], storage: storageWith(terms: [1, 1, 2]))
        r.becomeFollower(term: 2, lead: 2)
        r.log.commitTo(2)
        let reason = Self.dropReason(r, Message(type: .app, to: 1, from: 2, term: 2, logTerm: 2, index: index, entries: entries, commit: commit))
        return (r, reason)
    }

    /// Why `r` dropped `m` (nil when it took it).
    static func dropReason(_ r: Raft, _ m: Message) -> MessageDropReason? {
        do {
            try r.step(m)
        } catch .messageDropped(let reason) {
            return reason
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return nil
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
        let (r, reason) = follower(stepping: entries, after: index)
        #expect(reason == .malformedEntries)
        #expect(r.log.lastIndex == 3)
        #expect(r.log.committed == 2)
    }

    @Test func appendAfterAMissingEntryOfTermZeroIsDropped() {
        // term(9) is 0 for a log ending at 3, so logTerm 0 "matched" and commitTo(9) trapped.
        let r = newTestRaft(1, peers: [1, 2, 3], storage: storageWith(terms: [1, 1, 2]))
        r.becomeFollower(term: 2, lead: 2)
        #expect(Self.dropReason(r, Message(type: .app, to: 1, from: 2, term: 2, logTerm: 0, index: 9, commit: 9)) == .malformedEntries)
        #expect(r.log.committed == 0)
    }

    @Test func heartbeatCommittingBeyondTheLogIsIgnored() {
        let (r, _) = follower(stepping: [], after: 3)
        #expect(Self.dropReason(r, Message(type: .heartbeat, to: 1, from: 2, term: 2, commit: 9)) == .commitBeyondLog(commit: 9, lastIndex: 3))
        #expect(r.log.committed == 3)
    }

    @Test func wellFormedAppendStillAppends() {
        let (r, reason) = follower(stepping: [Entry(term: 2, index: 4), Entry(term: 2, index: 5)], after: 3, commit: 5)
        #expect(reason == nil)
        #expect(r.log.lastIndex == 5)
        #expect(r.log.committed == 5)
    }
}
