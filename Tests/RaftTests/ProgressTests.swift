import Testing
@testable import Raft

/// Per-follower progress and the in-flight window.
@Suite struct ProgressTests {
    @Test func inflightsAddAndFree() {
        var w = Inflights(capacity: 4)
        for i: UInt64 in [1, 2, 3, 4] { w.add(i * 10) }
        #expect(w.isFull)
        w.freeLE(25)
        #expect(w.count == 2)
        w.add(50)
        w.add(60)
        #expect(w.isFull)
        w.freeLE(55)
        #expect(w.count == 1)
        w.freeFirstOne()
        #expect(w.count == 0)
        w.freeLE(1000)
        #expect(w.count == 0)
    }

    // The ring wraps around many times without losing order.
    @Test func inflightsWrapAround() {
        var w = Inflights(capacity: 3)
        var next: UInt64 = 1
        var oldest: UInt64 = 1
        for round in 0..<100 {
            while !w.isFull {
                w.add(next)
                next += 1
            }
            let upTo = oldest + UInt64(round % 3)
            w.freeLE(upTo)
            oldest = max(oldest, upTo + 1)
            #expect(w.count == Int(next - oldest))
        }
    }

    @Test func maybeUpdateAndDecrement() {
        let p = Progress(match: 5, next: 6, maxInflight: 4, isLearner: false)
        #expect(!p.maybeUpdate(4))
        #expect(p.maybeUpdate(7))
        #expect(p.match == 7 && p.next == 8)
        // Probe: only the answer to the latest probe (next-1) counts.
        #expect(!p.maybeDecrTo(rejected: 5, matchHint: 3))
        #expect(p.maybeDecrTo(rejected: 7, matchHint: 3))
        #expect(p.next == 4)
        // Replicate: rejections at or below match are stale.
        p.becomeReplicate()
        #expect(!p.maybeDecrTo(rejected: 7, matchHint: 0))
        #expect(p.maybeDecrTo(rejected: 9, matchHint: 0))
        #expect(p.next == p.match + 1)
    }

    @Test func pausedStates() {
        let p = Progress(next: 1, maxInflight: 1, isLearner: false)
        #expect(!p.isPaused)
        p.probeSent = true
        #expect(p.isPaused)
        p.becomeReplicate()
        #expect(!p.isPaused)
        p.inflights.add(1)
        #expect(p.isPaused)
        p.becomeSnapshot(9)
        #expect(p.isPaused)
        p.becomeProbe()
        #expect(p.next == 10)
    }
}
