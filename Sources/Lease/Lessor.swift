import Foundation
import MVCC
import Storage
import Synchronization

/// Leases: time-to-live grants that keys attach to (etcd's lessor).
///
/// Granting and revoking happen through the log (the apply loop calls `grant` and
/// `revoke`), so every member agrees on which leases exist. Time is kept only by the
/// primary (the leader): it renews leases on keep-alive and keeps their deadlines in a queue,
/// earliest first; its expiry thread hands the member the leases whose time ran out, and
/// the member revokes them through the log. A lease's keys are deleted with it, in one
/// revision.
public final class Lessor: LeaseAttachments, Sendable {
    /// etcd's largest TTL (seconds).
    public static let maxTTL: Int64 = 9_000_000_000

    /// A snapshot of one lease for callers.
    public struct Info: Sendable, Equatable {
        public var id: Int64
        /// The TTL it was granted with (seconds, after the minimum was applied).
        public var grantedTTL: Int64
        /// Time left; nil when this member keeps no time for it (not primary).
        public var remaining: Duration?
        public var keys: [[UInt8]]
    }

    private struct Lease {
        var ttl: Int64
        /// When it expires; nil while no primary keeps time (forever).
        var expiry: ContinuousClock.Instant?
        var keys: Set<[UInt8]> = []
    }

    private struct State {
        var leases: [Int64: Lease] = [:]
        var keyToLease: [[UInt8]: Int64] = [:]
        var isPrimary = false
        /// The deadlines of timed leases (the primary's only).
        var queue = ExpiryQueue()

        /// Times every lease from `start`: its TTL plus `extend`.
        mutating func startTiming(from start: ContinuousClock.Instant, extend: Duration) {
            queue.removeAll()
            for (id, lease) in leases {
                let expiry = start + .seconds(lease.ttl) + extend
                leases[id]!.expiry = expiry
                queue.push(id, at: expiry)
            }
        }
    }

    private let state = Mutex(State())
    private let timer = ExpiryTimer()
    /// Leases shorter than this are granted this long (seconds).
    public let minTTL: Int64
    private let now: @Sendable () -> ContinuousClock.Instant
    /// How long an expired lease is not reported again after being reported (its revoke may
    /// still be on its way through the log).
    private let expiredRetryInterval: Duration = .seconds(3)

    /// Loads the leases stored in `reader`. `minTTL` is etcd's 1.5 election timeouts,
    /// rounded up to seconds.
    public init(
        loadingFrom reader: BackendReader, minTTL: Int64,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) throws {
        self.minTTL = minTTL
        self.now = now
        var leases: [Int64: Lease] = [:]
        try reader.forEach(.lease, from: [], to: nil) { key, value in
            guard let record = LeaseRecord(key: key, value: value) else {
                throw MVCCError.corrupt("bad lease record of \(value.count) bytes")
            }
            leases[record.id] = Lease(ttl: record.ttl)
            return true
        }
        state.withLock { $0.leases = leases }
    }

    /// Replaces every lease with those stored in `reader` (the backend was replaced by a
    /// snapshot). A primary keeps timing them, from now.
    public func reload(from reader: BackendReader) throws {
        var leases: [Int64: Lease] = [:]
        try reader.forEach(.lease, from: [], to: nil) { key, value in
            guard let record = LeaseRecord(key: key, value: value) else {
                throw MVCCError.corrupt("bad lease record of \(value.count) bytes")
            }
            leases[record.id] = Lease(ttl: record.ttl)
            return true
        }
        let start = now()
        state.withLock { state in
            state.leases = leases
            state.keyToLease = [:]
            if state.isPrimary { state.startTiming(from: start, extend: .zero) }
        }
        timer.wake()
    }

    // MARK: Applied through the log

    /// Grants lease `id` for `ttl` seconds (at least `minTTL`) and stores it in `batch`.
    public func grant(id: Int64, ttl: Int64, in batch: BatchTransaction) throws -> Info {
        guard id != 0 else { throw LeaseError.notFound }
        guard ttl <= Self.maxTTL else { throw LeaseError.ttlTooLarge }
        let granted = max(ttl, minTTL)
        let start = now()
        let isEarliest = try state.withLock { state throws(LeaseError) -> Bool in
            guard state.leases[id] == nil else { throw .alreadyExists }
            guard state.isPrimary else {
                state.leases[id] = Lease(ttl: granted, expiry: nil)
                return false
            }
            let expiry = start + .seconds(granted)
            state.leases[id] = Lease(ttl: granted, expiry: expiry)
            let isEarliest = state.queue.earliest.map { expiry < $0 } ?? true
            state.queue.push(id, at: expiry)
            return isEarliest
        }
        if isEarliest { timer.wake() }
        let record = LeaseRecord(id: id, ttl: granted)
        try batch.put(.lease, record.key, record.value)
        return Info(id: id, grantedTTL: granted, remaining: .seconds(granted), keys: [])
    }

    /// Revokes lease `id`: `deleteKeys` is called with its keys in key order (the server
    /// deletes them in one write transaction), then the lease is forgotten.
    public func revoke(id: Int64, in batch: BatchTransaction, deleteKeys: ([[UInt8]]) throws -> Void) throws {
        guard let keys = state.withLock({ $0.leases[id]?.keys }) else { throw LeaseError.notFound }
        try deleteKeys(keys.sorted { $0.lexicographicallyPrecedes($1) })
        state.withLock { state in
            if let lease = state.leases.removeValue(forKey: id) {
                for key in lease.keys where state.keyToLease[key] == id { state.keyToLease.removeValue(forKey: key) }
            }
        }
        try batch.delete(.lease, LeaseRecord.key(of: id))
    }

    // MARK: Time, kept by the primary

    /// Starts keeping time: every lease gets its full TTL plus `extend` from now (as etcd does
    /// when a member becomes leader, so leases survive a restart or a leader change).
    public func promote(extend: Duration) {
        let start = now()
        state.withLock { state in
            state.isPrimary = true
            state.startTiming(from: start, extend: extend)
        }
        timer.wake()
    }

    /// Stops keeping time (no longer the leader).
    public func demote() {
        state.withLock { state in
            state.isPrimary = false
            state.queue.removeAll()
            for id in state.leases.keys { state.leases[id]!.expiry = nil }
        }
    }

    /// A keep-alive: the lease lives its full TTL from now. Returns the TTL.
    public func renew(id: Int64) throws(LeaseError) -> Int64 {
        let start = now()
        return try state.withLock { state throws(LeaseError) in
            guard state.isPrimary else { throw .notPrimary }
            guard var lease = state.leases[id] else { throw .notFound }
            if let expiry = lease.expiry, expiry <= start {
                // Expired: its revoke is on the way; etcd answers as for a missing lease.
                throw .notFound
            }
            let expiry = start + .seconds(lease.ttl)
            lease.expiry = expiry
            state.leases[id] = lease
            state.queue.push(id, at: expiry)
            return lease.ttl
        }
    }

    /// Takes up to `limit` leases whose time ran out from the queue, ascending by ID. Each
    /// goes back in the queue `expiredRetryInterval` from now, so one whose revoke got lost
    /// (a leader change) is handed out again.
    public func takeExpired(limit: Int) -> [Int64] {
        let current = now()
        return state.withLock { state in
            guard state.isPrimary else { return [] }
            var found: Set<Int64> = []
            while found.count < limit, let entry = state.queue.popDue(at: current) {
                // Stale entries: the lease was renewed, revoked, or already taken this round.
                guard let expiry = state.leases[entry.id]?.expiry, expiry <= current, !found.contains(entry.id) else { continue }
                found.insert(entry.id)
                state.queue.push(entry.id, at: current + expiredRetryInterval)
            }
            return found.sorted()
        }
    }

    /// The earliest deadline in the queue (nil when not primary or nothing is timed).
    var nextDeadline: ContinuousClock.Instant? {
        state.withLock { $0.isPrimary ? $0.queue.earliest : nil }
    }

    /// Starts the expiry thread: whenever leases run out, `onExpired` gets them (up to 500 at
    /// a time, on that thread) to revoke. Runs until `stopExpiry()`.
    public func startExpiry(_ onExpired: @escaping @Sendable ([Int64]) -> Void) {
        timer.start(nextDeadline: { [weak self] in self?.nextDeadline }) { [weak self] in
            guard let self else { return }
            let expired = takeExpired(limit: 500)
            if !expired.isEmpty { onExpired(expired) }
        }
    }

    /// Stops the expiry thread (the member is stopping).
    public func stopExpiry() {
        timer.stop()
    }

    // MARK: Reading

    public func lookup(_ id: Int64) -> Info? {
        let current = now()
        return state.withLock { state in
            guard let lease = state.leases[id] else { return nil }
            return Info(
                id: id, grantedTTL: lease.ttl, remaining: lease.expiry.map { $0 - current },
                keys: lease.keys.sorted { $0.lexicographicallyPrecedes($1) })
        }
    }

    /// Every lease ID, ascending.
    public var leaseIDs: [Int64] { state.withLock { $0.leases.keys.sorted() } }

    public func exists(_ id: Int64) -> Bool { state.withLock { $0.leases[id] != nil } }

    // MARK: LeaseAttachments

    public func lease(of key: [UInt8]) -> Int64 {
        state.withLock { $0.keyToLease[key] ?? 0 }
    }

    public func attach(_ lease: Int64, key: [UInt8]) {
        state.withLock { state in
            guard state.leases[lease] != nil else { return }
            state.leases[lease]!.keys.insert(key)
            state.keyToLease[key] = lease
        }
    }

    public func detach(_ lease: Int64, key: [UInt8]) {
        state.withLock { state in
            state.leases[lease]?.keys.remove(key)
            if state.keyToLease[key] == lease { state.keyToLease.removeValue(forKey: key) }
        }
    }
}
