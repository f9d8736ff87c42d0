import Foundation
import MVCC
import Storage
import Synchronization

/// Leases: time-to-live grants that keys attach to (etcd's lessor).
///
/// Granting and revoking happen through the log (the apply loop calls `grant` and
/// `revoke`), so every member agrees on which leases exist. Time is kept only by the
/// primary (the leader): it renews leases on keep-alive and finds expired ones, which the
/// server then revokes through the log. A lease's keys are deleted with it, in one revision.
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
        /// Next time an expired lease may be reported again (its revoke may still be in flight).
        var retryAfter: ContinuousClock.Instant?
    }

    private struct State {
        var leases: [Int64: Lease] = [:]
        var keyToLease: [[UInt8]: Int64] = [:]
        var isPrimary = false
    }

    private let state = Mutex(State())
    /// Leases shorter than this are granted this long (seconds).
    public let minTTL: Int64
    private let now: @Sendable () -> ContinuousClock.Instant
    /// How long an expired lease is not reported again after being reported.
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
            if state.isPrimary {
                for id in leases.keys { leases[id]!.expiry = start + .seconds(leases[id]!.ttl) }
            }
            state.leases = leases
            state.keyToLease = [:]
        }
    }

    // MARK: Applied through the log

    /// Grants lease `id` for `ttl` seconds (at least `minTTL`) and stores it in `batch`.
    public func grant(id: Int64, ttl: Int64, in batch: BatchTransaction) throws -> Info {
        guard id != 0 else { throw LeaseError.notFound }
        guard ttl <= Self.maxTTL else { throw LeaseError.ttlTooLarge }
        let granted = max(ttl, minTTL)
        let start = now()
        try state.withLock { state throws(LeaseError) in
            guard state.leases[id] == nil else { throw .alreadyExists }
            state.leases[id] = Lease(ttl: granted, expiry: state.isPrimary ? start + .seconds(granted) : nil)
        }
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
            for id in state.leases.keys {
                state.leases[id]!.expiry = start + .seconds(state.leases[id]!.ttl) + extend
                state.leases[id]!.retryAfter = nil
            }
        }
    }

    /// Stops keeping time (no longer the leader).
    public func demote() {
        state.withLock { state in
            state.isPrimary = false
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
            lease.expiry = start + .seconds(lease.ttl)
            lease.retryAfter = nil
            state.leases[id] = lease
            return lease.ttl
        }
    }

    /// Up to `limit` expired leases not reported in the last few seconds.
    public func expired(limit: Int) -> [Int64] {
        let current = now()
        return state.withLock { state in
            guard state.isPrimary else { return [] }
            var found: [Int64] = []
            for (id, lease) in state.leases {
                guard let expiry = lease.expiry, expiry <= current else { continue }
                if let retryAfter = lease.retryAfter, retryAfter > current { continue }
                state.leases[id]!.retryAfter = current + expiredRetryInterval
                found.append(id)
                if found.count >= limit { break }
            }
            return found.sorted()
        }
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

/// How a lease is stored in the backend's lease bucket: key = ID, value = ID and TTL,
/// each 8 bytes big-endian.
struct LeaseRecord {
    let id: Int64
    let ttl: Int64

    init(id: Int64, ttl: Int64) {
        self.id = id
        self.ttl = ttl
    }

    init?(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard value.count == 16 else { return nil }
        id = Self.read(value, at: 0)
        ttl = Self.read(value, at: 8)
    }

    static func key(of id: Int64) -> [UInt8] { bytes(id) }
    var key: [UInt8] { Self.bytes(id) }
    var value: [UInt8] { Self.bytes(id) + Self.bytes(ttl) }

    private static func bytes(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> (56 - 8 * UInt64($0))) }
    }

    private static func read(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> Int64 {
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(buffer[offset + i]) }
        return Int64(bitPattern: value)
    }
}
