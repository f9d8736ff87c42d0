import Foundation
import Synchronization

/// A lease kept alive for as long as the session lives: the basis of ``Mutex`` and
/// ``Election``. Keys written with the session's lease disappear when the process holding the
/// session dies (after the TTL), which is what frees its locks and leaderships.
///
/// ```swift
/// let session = try await Session(client: client, ttl: 10)
/// defer { Task { try? await session.close() } }
/// // ... use session.lease, or a Mutex / Election on the session
/// await session.done()   // returns if the lease is lost
/// ```
public final class Session: Sendable {
    /// The client the session was made on.
    public let client: EtcdClient
    /// The session's lease.
    public let lease: LeaseID
    /// The lease's TTL in seconds.
    public let ttl: Int64

    private let state = Synchronization.Mutex(State())
    private let keeper = Synchronization.Mutex<Task<Void, Never>?>(nil)

    private struct State {
        var ended = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    /// Grants a lease of `ttl` seconds (or takes over `lease`) and keeps it alive.
    public init(client: EtcdClient, ttl: Int64 = 60, lease: LeaseID? = nil) async throws {
        self.client = client
        self.ttl = ttl
        if let lease {
            self.lease = lease
        } else {
            self.lease = try await client.lease.grant(ttl: ttl).id
        }
        let renewals = client.lease.keepAlive(self.lease)
        let task = Task { [weak self] in
            do {
                for try await _ in renewals {}
            } catch {}
            self?.end()
        }
        keeper.withLock { $0 = task }
    }

    /// Whether the session is over (lease lost, or closed).
    public var isDone: Bool { state.withLock { $0.ended } }

    /// Returns when the session is over (its lease expired or was revoked, or it was closed),
    /// or when the waiting task is cancelled.
    public func done() async {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.ended || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Ends the session: stops the keep-alive and revokes the lease, which deletes every key
    /// written with it (releasing locks and leaderships at once).
    public func close() async throws {
        stopKeepAlive()
        defer { end() }
        try await client.lease.revoke(lease, timeout: .seconds(Int64(max(ttl, 1))))
    }

    /// Stops the keep-alive without revoking: the lease (and the session's keys) live on until
    /// the TTL runs out.
    public func orphan() {
        stopKeepAlive()
        end()
    }

    private func stopKeepAlive() {
        keeper.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    private func end() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.ended = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    deinit {
        keeper.withLock { $0?.cancel() }
    }
}
