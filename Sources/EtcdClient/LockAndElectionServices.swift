import EtcdProto
import Foundation
import GRPCCore

/// The server-side lock service (`v3lockpb.Lock`): the server does what ``Mutex`` does on the
/// client. The lock is held until unlocked or until the lease ends.
///
/// ```swift
/// let lease = try await client.lease.grant(ttl: 10)
/// let key = try await client.lock.lock("jobs/cleanup", lease: lease.id)
/// defer { Task { try await client.lock.unlock(key) } }
/// ```
public struct LockService: Sendable {
    let pool: ConnectionPool

    /// Waits until the lock `name` is acquired; returns the key that holds it (unique to this
    /// holder; its create revision is the fencing token). No timeout unless given.
    public func lock(_ name: EtcdBytes, lease: LeaseID, timeout: Duration? = nil) async throws -> EtcdBytes {
        var request = V3lockpb_LockRequest()
        request.name = name.data
        request.lease = lease.rawValue
        let raw = try await pool.unary(.mutation, timeout: timeout ?? .seconds(365 * 86400)) { c, m, o in
            try await c.lock.lock(request, metadata: m, options: o)
        }
        return EtcdBytes(raw.key)
    }

    /// Releases a lock by its key.
    public func unlock(_ key: EtcdBytes, timeout: Duration? = nil) async throws {
        var request = V3lockpb_UnlockRequest()
        request.key = key.data
        _ = try await pool.unary(.idempotent, timeout: timeout) { c, m, o in
            try await c.lock.unlock(request, metadata: m, options: o)
        }
    }
}

/// A leadership won through ``ElectionService``.
public struct LeaderKey: Sendable, Hashable {
    public var name: EtcdBytes
    public var key: EtcdBytes
    public var revision: Int64
    public var lease: LeaseID

    init(_ raw: V3electionpb_LeaderKey) {
        name = EtcdBytes(raw.name)
        key = EtcdBytes(raw.key)
        revision = raw.rev
        lease = LeaseID(raw.lease)
    }

    var raw: V3electionpb_LeaderKey {
        var leader = V3electionpb_LeaderKey()
        leader.name = name.data
        leader.key = key.data
        leader.rev = revision
        leader.lease = lease.rawValue
        return leader
    }
}

/// The server-side election service (`v3electionpb.Election`).
///
/// ```swift
/// let lease = try await client.lease.grant(ttl: 10)
/// let leadership = try await client.election.campaign("service/leader", lease: lease.id, value: "node-1")
/// try await client.election.proclaim(leadership, value: "node-1, now busy")
/// try await client.election.resign(leadership)
/// ```
public struct ElectionService: Sendable {
    let pool: ConnectionPool

    /// Waits until this candidate leads the election `name`.
    public func campaign(_ name: EtcdBytes, lease: LeaseID, value: EtcdBytes, timeout: Duration? = nil) async throws
        -> LeaderKey
    {
        var request = V3electionpb_CampaignRequest()
        request.name = name.data
        request.lease = lease.rawValue
        request.value = value.data
        let raw = try await pool.unary(.mutation, timeout: timeout ?? .seconds(365 * 86400)) { c, m, o in
            try await c.election.campaign(request, metadata: m, options: o)
        }
        return LeaderKey(raw.leader)
    }

    /// Updates the leader's value (fails unless `leader` still leads).
    public func proclaim(_ leader: LeaderKey, value: EtcdBytes, timeout: Duration? = nil) async throws {
        var request = V3electionpb_ProclaimRequest()
        request.leader = leader.raw
        request.value = value.data
        _ = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.election.proclaim(request, metadata: m, options: o)
        }
    }

    /// The current leader's key-value pair.
    public func leader(_ name: EtcdBytes, timeout: Duration? = nil) async throws -> KeyValue {
        var request = V3electionpb_LeaderRequest()
        request.name = name.data
        let raw = try await pool.unary(.idempotent, timeout: timeout) { c, m, o in
            try await c.election.leader(request, metadata: m, options: o)
        }
        return KeyValue(raw.kv)
    }

    /// Gives up leadership.
    public func resign(_ leader: LeaderKey, timeout: Duration? = nil) async throws {
        var request = V3electionpb_ResignRequest()
        request.leader = leader.raw
        _ = try await pool.unary(.idempotent, timeout: timeout) { c, m, o in
            try await c.election.resign(request, metadata: m, options: o)
        }
    }

    /// The leaders of the election as they change, starting with the current one.
    public func observe(_ name: EtcdBytes) -> AsyncThrowingStream<KeyValue, any Error> {
        let pool = self.pool
        let (stream, continuation) = AsyncThrowingStream<KeyValue, any Error>.makeStream()
        var request = V3electionpb_LeaderRequest()
        request.name = name.data
        let task = Task {
            do {
                let connection = try pool.currentConnection().connection
                try await connection.election.observe(request, metadata: pool.metadata()) { response in
                    for try await message in response.messages { continuation.yield(KeyValue(message.kv)) }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: EtcdError.from(error))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
