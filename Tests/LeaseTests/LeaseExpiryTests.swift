import Foundation
import Storage
import Synchronization
import Testing
@testable import Lease

/// The lessor's own expiry: a deadline queue, earliest first, and a thread that sleeps until
/// the next deadline instead of the member polling every lease.
@Suite struct LeaseExpiryTests {
    @Test func queuePopsInDeadlineOrderOnlyWhenDue() {
        let start = ContinuousClock.now
        var queue = ExpiryQueue()
        for (id, seconds) in [(5, 50), (1, 10), (4, 40), (2, 20), (3, 30), (6, 10)] {
            queue.push(Int64(id), at: start + .seconds(seconds))
        }
        #expect(queue.earliest == start + .seconds(10))
        #expect(queue.popDue(at: start + .seconds(9)) == nil)
        var popped: [Int64] = []
        while let entry = queue.popDue(at: start + .seconds(35)) { popped.append(entry.id) }
        #expect(Set(popped.prefix(2)) == [1, 6])
        #expect(Array(popped.suffix(2)) == [2, 3])
        #expect(queue.count == 2)
        #expect(queue.earliest == start + .seconds(40))
    }

    @Test func renewedAndRevokedLeasesLeaveStaleEntriesThatAreSkipped() throws {
        let (backend, clock, lessor) = try primary()
        _ = try lessor.grant(id: 1, ttl: 10, in: backend.batch)
        _ = try lessor.grant(id: 2, ttl: 10, in: backend.batch)
        _ = try lessor.grant(id: 3, ttl: 10, in: backend.batch)
        clock.advance(.seconds(5))
        _ = try lessor.renew(id: 1)
        _ = try lessor.renew(id: 1)
        try lessor.revoke(id: 2, in: backend.batch) { _ in }
        clock.advance(.seconds(6))
        #expect(lessor.takeExpired(limit: 10) == [3], "1 was renewed, 2 revoked")
        try lessor.revoke(id: 3, in: backend.batch) { _ in }
        clock.advance(.seconds(5))
        #expect(lessor.takeExpired(limit: 10) == [1], "reported once though renewed twice")
    }

    @Test func limitLeavesTheRestForTheNextRound() throws {
        let (backend, clock, lessor) = try primary()
        for id in 1...7 { _ = try lessor.grant(id: Int64(id), ttl: Int64(id), in: backend.batch) }
        clock.advance(.seconds(10))
        #expect(lessor.takeExpired(limit: 3) == [1, 2, 3])
        #expect(lessor.takeExpired(limit: 10) == [4, 5, 6, 7])
        #expect(lessor.takeExpired(limit: 10).isEmpty)
    }

    @Test func demotionForgetsDeadlinesAndPromotionRestartsThem() throws {
        let (backend, clock, lessor) = try primary()
        _ = try lessor.grant(id: 1, ttl: 5, in: backend.batch)
        lessor.demote()
        clock.advance(.seconds(10))
        #expect(lessor.takeExpired(limit: 10).isEmpty)
        lessor.promote(extend: .seconds(2))
        clock.advance(.seconds(6))
        #expect(lessor.takeExpired(limit: 10).isEmpty, "a new primary gives the full TTL plus the extension")
        clock.advance(.seconds(1))
        #expect(lessor.takeExpired(limit: 10) == [1])
    }

    /// The thread sleeps until the earliest deadline; a grant that becomes the earliest wakes
    /// it, so a 1 s lease granted after a 1000 s one is handed out without waiting for that.
    @Test func expiryThreadHandsOverLeasesAsTheyRunOut() async throws {
        let backend = try LessorTests.backend()
        let lessor = try Lessor(loadingFrom: backend.batch, minTTL: 1)
        lessor.promote(extend: .zero)
        let (expired, continuation) = AsyncStream.makeStream(of: [Int64].self)
        lessor.startExpiry { continuation.yield($0) }
        defer { lessor.stopExpiry() }
        _ = try lessor.grant(id: 100, ttl: 1000, in: backend.batch)
        // Give the thread time to go to sleep on the 1000 s deadline first.
        try await Task.sleep(for: .milliseconds(50))
        _ = try lessor.grant(id: 1, ttl: 1, in: backend.batch)
        let first = try await firstValue(of: expired, within: .seconds(60))
        #expect(first == [1])
    }

    @Test func stopEndsTheThreadWhileItWaits() throws {
        let backend = try LessorTests.backend()
        let lessor = try Lessor(loadingFrom: backend.batch, minTTL: 1)
        lessor.promote(extend: .zero)
        _ = try lessor.grant(id: 1, ttl: 1000, in: backend.batch)
        lessor.startExpiry { _ in Issue.record("nothing expires") }
        lessor.stopExpiry()
    }

    /// A lessor keeping time on a clock the test moves.
    private func primary() throws -> (Backend, ManualClock, Lessor) {
        let backend = try LessorTests.backend()
        let clock = ManualClock()
        let lessor = try Lessor(loadingFrom: backend.batch, minTTL: 1, now: { clock.now })
        lessor.promote(extend: .zero)
        return (backend, clock, lessor)
    }

    private func firstValue(of stream: AsyncStream<[Int64]>, within limit: Duration) async throws -> [Int64]? {
        try await withThrowingTaskGroup(of: [Int64]?.self) { group in
            group.addTask {
                for await value in stream { return value }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            let value = try await group.next() ?? nil
            group.cancelAll()
            return value
        }
    }
}
