import Testing
@testable import Raft

/// Quorum math: majority and joint configurations.
@Suite struct QuorumTests {
    static let committedCases: [([UInt64], [UInt64: UInt64], UInt64)] = [
        ([], [:], UInt64.max),
        ([1], [1: 5], 5),
        ([1], [:], 0),
        ([1, 2], [1: 5, 2: 3], 3),
        ([1, 2, 3], [1: 5, 2: 3, 3: 9], 5),
        ([1, 2, 3], [1: 5], 0),
        ([1, 2, 3], [1: 5, 2: 4], 4),
        ([1, 2, 3, 4], [1: 9, 2: 8, 3: 7, 4: 1], 7),
        ([1, 2, 3, 4, 5], [1: 9, 2: 8, 3: 7, 4: 1, 5: 0], 7),
        ([1, 2, 3, 4, 5, 6, 7], [1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7], 4),
    ]

    @Test(arguments: QuorumTests.committedCases)
    func majorityCommittedIndex(_ ids: [UInt64], _ acked: [UInt64: UInt64], _ want: UInt64) {
        #expect(MajorityConfig(ids).committedIndex { acked[$0] } == want)
    }

    static let voteCases: [([UInt64], [UInt64: Bool], VoteResult)] = [
        ([], [:], .won),
        ([1, 2, 3], [1: true], .pending),
        ([1, 2, 3], [1: true, 2: true], .won),
        ([1, 2, 3], [1: true, 2: false], .pending),
        ([1, 2, 3], [1: false, 2: false], .lost),
        ([1, 2, 3, 4], [1: true, 2: true], .pending),
        ([1, 2, 3, 4], [1: true, 2: true, 3: true], .won),
        ([1, 2, 3, 4], [1: false, 2: false], .lost),
        ([1, 2], [1: true, 9: true], .pending),
    ]

    @Test(arguments: QuorumTests.voteCases)
    func majorityVotes(_ ids: [UInt64], _ votes: [UInt64: Bool], _ want: VoteResult) {
        #expect(MajorityConfig(ids).voteResult { votes[$0] } == want)
    }

    @Test func jointTakesTheMinimumAndBothVotes() {
        let j = JointConfig(incoming: [1, 2, 3], outgoing: [3, 4, 5])
        let acked: [UInt64: UInt64] = [1: 10, 2: 10, 3: 5, 4: 4, 5: 3]
        #expect(j.committedIndex { acked[$0] } == 4)
        #expect(JointConfig(incoming: [1, 2, 3]).committedIndex { acked[$0] } == 10)
        #expect(j.voteResult { [1: true, 2: true][$0] } == .pending)
        #expect(j.voteResult { [1: true, 2: true, 4: true, 5: true][$0] } == .won)
        #expect(j.voteResult { [1: true, 2: true, 4: false, 5: false][$0] } == .lost)
        #expect(j.ids.ids == [1, 2, 3, 4, 5])
        #expect(j.description == "(1 2 3)&&(3 4 5)")
    }

    // Exhaustive check of the committed index against its definition for small configs.
    @Test func committedIndexMatchesDefinition() {
        var r = SeededRandom(seed: 3)
        for _ in 0..<500 {
            let n = Int(r.next(below: 7)) + 1
            let ids = (1...UInt64(n)).map { $0 }
            var acked: [UInt64: UInt64] = [:]
            for id in ids where r.next(below: 4) != 0 { acked[id] = r.next(below: 10) }
            let got = MajorityConfig(ids).committedIndex { acked[$0] }
            // The largest index acknowledged by at least a majority.
            let want = (0...10).last { idx in ids.filter { (acked[$0] ?? 0) >= UInt64(idx) }.count > n / 2 }!
            #expect(got == UInt64(want))
        }
    }

    @Test func nodeSetStaysSortedAndUnique() {
        var s: NodeSet = [5, 1, 3, 1]
        #expect(s.ids == [1, 3, 5])
        let inserted = s.insert(2)
        let again = s.insert(3)
        let removed = s.remove(5)
        let missing = s.remove(9)
        #expect(inserted && !again && removed && !missing)
        #expect(s.ids == [1, 2, 3])
        #expect(s.union([0, 7]).ids == [0, 1, 2, 3, 7])
    }
}
