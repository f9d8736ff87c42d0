import Foundation
import MVCC
import Storage
import Synchronization
import Testing
@testable import Lease

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    func advance(_ duration: Duration) { current.withLock { $0 += duration } }
}

@Suite struct LessorTests {
    static func backend() throws -> Backend {
        try Backend(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("lease-\(UUID().uuidString)").appendingPathComponent("db").path)
    }

    func lessor(_ backend: Backend, clock: ManualClock) throws -> Lessor {
        try Lessor(loadingFrom: backend.batch, minTTL: 2, now: { clock.now })
    }

    @Test func grantAppliesMinimumAndLimits() throws {
        let backend = try Self.backend()
        let lessor = try lessor(backend, clock: ManualClock())
        #expect(try lessor.grant(id: 1, ttl: 1, in: backend.batch).grantedTTL == 2)
        #expect(try lessor.grant(id: 2, ttl: 60, in: backend.batch).grantedTTL == 60)
        #expect(throws: LeaseError.alreadyExists) { try lessor.grant(id: 1, ttl: 5, in: backend.batch) }
        #expect(throws: LeaseError.ttlTooLarge) { try lessor.grant(id: 3, ttl: Lessor.maxTTL + 1, in: backend.batch) }
        #expect(lessor.leaseIDs == [1, 2])
    }

    @Test func primaryKeepsTimeAndReportsExpiredOnceUntilRetry() throws {
        let backend = try Self.backend()
        let clock = ManualClock()
        let lessor = try lessor(backend, clock: clock)
        lessor.promote(extend: .zero)
        _ = try lessor.grant(id: 7, ttl: 10, in: backend.batch)
        clock.advance(.seconds(9))
        #expect(lessor.takeExpired(limit: 10).isEmpty)
        #expect(try lessor.renew(id: 7) == 10, "keep-alive restarts the full TTL")
        clock.advance(.seconds(9))
        #expect(lessor.takeExpired(limit: 10).isEmpty)
        clock.advance(.seconds(2))
        #expect(lessor.takeExpired(limit: 10) == [7])
        #expect(lessor.takeExpired(limit: 10).isEmpty, "not reported again while its revoke is in flight")
        #expect(throws: LeaseError.notFound) { try lessor.renew(id: 7) }
        clock.advance(.seconds(4))
        #expect(lessor.takeExpired(limit: 10) == [7])
    }

    @Test func followersKeepNoTime() throws {
        let backend = try Self.backend()
        let clock = ManualClock()
        let lessor = try lessor(backend, clock: clock)
        _ = try lessor.grant(id: 1, ttl: 5, in: backend.batch)
        clock.advance(.seconds(100))
        #expect(lessor.takeExpired(limit: 10).isEmpty)
        #expect(lessor.lookup(1)?.remaining == nil)
        #expect(throws: LeaseError.notPrimary) { try lessor.renew(id: 1) }
    }

    @Test func revokeHandsOverSortedKeysAndForgets() throws {
        let backend = try Self.backend()
        let lessor = try lessor(backend, clock: ManualClock())
        _ = try lessor.grant(id: 3, ttl: 5, in: backend.batch)
        lessor.attach(3, key: Array("b".utf8))
        lessor.attach(3, key: Array("a".utf8))
        lessor.attach(99, key: Array("ignored".utf8))
        #expect(lessor.lease(of: Array("a".utf8)) == 3)
        var deleted: [[UInt8]] = []
        try lessor.revoke(id: 3, in: backend.batch) { deleted = $0 }
        #expect(deleted == [Array("a".utf8), Array("b".utf8)])
        #expect(lessor.lookup(3) == nil)
        #expect(lessor.lease(of: Array("a".utf8)) == 0)
        #expect(throws: LeaseError.notFound) { try lessor.revoke(id: 3, in: backend.batch) { _ in } }
    }

    @Test func leasesSurviveReloadWithFullTTLAfterPromotion() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lease-\(UUID().uuidString)").appendingPathComponent("db").path
        let clock = ManualClock()
        do {
            let backend = try Backend(path: path)
            let lessor = try lessor(backend, clock: clock)
            _ = try lessor.grant(id: 5, ttl: 30, in: backend.batch)
            try backend.close()
        }
        let backend = try Backend(path: path)
        let reloaded = try lessor(backend, clock: clock)
        #expect(reloaded.leaseIDs == [5])
        reloaded.promote(extend: .seconds(1))
        #expect(reloaded.lookup(5)?.remaining == .seconds(31))
    }

    @Test func storeAttachesAndDetachesThroughWrites() throws {
        let backend = try Self.backend()
        let lessor = try lessor(backend, clock: ManualClock())
        _ = try lessor.grant(id: 1, ttl: 5, in: backend.batch)
        _ = try lessor.grant(id: 2, ttl: 5, in: backend.batch)
        let store = try KVStore(backend: backend, leases: lessor)
        defer { store.close() }
        var txn = store.write()
        try txn.put(key: Data("k".utf8), value: Data(), lease: 1)
        txn.end()
        #expect(lessor.lookup(1)?.keys == [Array("k".utf8)])
        txn = store.write()
        try txn.put(key: Data("k".utf8), value: Data(), lease: 2)
        txn.end()
        #expect(lessor.lookup(1)?.keys == [])
        #expect(lessor.lookup(2)?.keys == [Array("k".utf8)])
        txn = store.write()
        try txn.deleteRange(.single(Array("k".utf8)))
        txn.end()
        #expect(lessor.lookup(2)?.keys == [])
    }
}
