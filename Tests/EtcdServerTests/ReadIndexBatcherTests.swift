import Foundation
import Raft
import Synchronization
import Testing
@testable import EtcdServer

/// Linearizable reads batched into ReadIndex rounds: one round for every read waiting, reads
/// released only once their index is applied, a lost round asked again, a leader change
/// failing the round in flight.
@Suite struct ReadIndexBatcherTests {
    /// Records how each read finished (nil: it may run).
    final class Outcomes: Sendable {
        private let finished = Mutex<[Int: EtcdError?]>([:])
        func track(_ read: ReadRequest, as number: Int) {
            read.onFinish { error in self.finished.withLock { $0[number] = .some(error) } }
        }
        var all: [Int: EtcdError?] { finished.withLock { $0 } }
    }

    let start = ContinuousClock.now

    func reads(_ count: Int, outcomes: Outcomes, deadline: Duration = .seconds(60)) -> [ReadRequest] {
        (0..<count).map { number in
            let read = ReadRequest(deadline: start + deadline)
            outcomes.track(read, as: number)
            return read
        }
    }

    @Test func oneRoundServesEveryWaitingReadOnceItsIndexIsApplied() throws {
        var batcher = ReadIndexBatcher(retryAfter: .seconds(1))
        let outcomes = Outcomes()
        for read in reads(100, outcomes: outcomes) { batcher.add(read) }
        let contextRound = batcher.startRound(now: start)
        let context = try #require(contextRound)
        let started2 = batcher.startRound(now: start)
        #expect(started2 == nil, "one round at a time")
        batcher.confirm(ReadState(index: 7, requestContext: context))
        batcher.release(appliedIndex: 6)
        #expect(outcomes.all.isEmpty, "index 7 is not applied yet")
        batcher.release(appliedIndex: 7)
        #expect(outcomes.all.count == 100)
        #expect(outcomes.all.values.allSatisfy { $0 == nil })
        #expect(batcher.count == 0)
    }

    @Test func readsArrivingDuringARoundWaitForTheNext() throws {
        var batcher = ReadIndexBatcher(retryAfter: .seconds(1))
        let outcomes = Outcomes()
        let all = reads(2, outcomes: outcomes)
        batcher.add(all[0])
        let firstRound = batcher.startRound(now: start)
        let first = try #require(firstRound)
        batcher.add(all[1])
        batcher.confirm(ReadState(index: 3, requestContext: first))
        batcher.release(appliedIndex: 3)
        #expect(outcomes.all.keys.sorted() == [0])
        let secondRound = batcher.startRound(now: start)
        let second = try #require(secondRound)
        #expect(second != first)
        batcher.confirm(ReadState(index: 4, requestContext: first))
        batcher.release(appliedIndex: 10)
        #expect(outcomes.all.keys.sorted() == [0], "an answer to an older round confirms nothing")
        batcher.confirm(ReadState(index: 4, requestContext: second))
        batcher.release(appliedIndex: 10)
        #expect(outcomes.all.keys.sorted() == [0, 1])
    }

    @Test func anUnansweredRoundIsAskedAgain() throws {
        var batcher = ReadIndexBatcher(retryAfter: .seconds(1))
        let outcomes = Outcomes()
        for read in reads(3, outcomes: outcomes) { batcher.add(read) }
        let lostRound = batcher.startRound(now: start)
        let lost = try #require(lostRound)
        let started3 = batcher.startRound(now: start + .milliseconds(999))
        #expect(started3 == nil)
        let againRound = batcher.startRound(now: start + .seconds(2))
        let again = try #require(againRound)
        #expect(again != lost)
        batcher.confirm(ReadState(index: 1, requestContext: again))
        batcher.release(appliedIndex: 1)
        #expect(outcomes.all.count == 3)
    }

    @Test func aLeaderChangeFailsTheRoundInFlightOnly() throws {
        var batcher = ReadIndexBatcher(retryAfter: .seconds(1))
        let outcomes = Outcomes()
        let all = reads(2, outcomes: outcomes)
        batcher.add(all[0])
        let started1 = batcher.startRound(now: start)
        _ = try #require(started1)
        batcher.add(all[1])
        batcher.leaderChanged()
        #expect(outcomes.all[0] == .some(.leaderChanged))
        #expect(outcomes.all[1] == nil)
        let started4 = batcher.startRound(now: start)
        #expect(started4 != nil, "the waiting read gets a round of its own")
    }

    @Test func readsPastTheirDeadlineTimeOutAndStoppingFailsTheRest() throws {
        var batcher = ReadIndexBatcher(retryAfter: .seconds(100))
        let outcomes = Outcomes()
        let short = reads(1, outcomes: outcomes, deadline: .seconds(1))
        batcher.add(short[0])
        let started5 = batcher.startRound(now: start + .seconds(2))
        #expect(started5 == nil)
        #expect(outcomes.all[0] == .some(.timeout))
        let later = ReadRequest(deadline: start + .seconds(60))
        outcomes.track(later, as: 1)
        batcher.add(later)
        _ = batcher.startRound(now: start)
        batcher.failAll(.stopped)
        #expect(outcomes.all[1] == .some(.stopped))
        #expect(batcher.count == 0)
    }
}
