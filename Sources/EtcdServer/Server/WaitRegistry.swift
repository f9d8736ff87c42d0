import EtcdProto
import Synchronization

/// What applying one log entry produced for the client that proposed it.
public enum ApplyResult: Sendable {
    case put(Etcdserverpb_PutResponse)
    case deleteRange(Etcdserverpb_DeleteRangeResponse)
    case txn(Etcdserverpb_TxnResponse)
    case compaction(Etcdserverpb_CompactionResponse)
    case leaseGrant(Etcdserverpb_LeaseGrantResponse)
    case leaseRevoke(Etcdserverpb_LeaseRevokeResponse)
    /// A membership change was applied.
    case membership
    case none
}

/// Clients waiting for their proposal to be applied, by request ID (etcd's `wait`).
final class WaitRegistry: Sendable {
    private struct Waiter {
        var continuation: CheckedContinuation<ApplyResult, any Error>
        var deadline: ContinuousClock.Instant
    }

    private let waiters = Mutex<[UInt64: Waiter]>([:])

    func register(_ id: UInt64, deadline: ContinuousClock.Instant, _ continuation: CheckedContinuation<ApplyResult, any Error>) {
        waiters.withLock { $0[id] = Waiter(continuation: continuation, deadline: deadline) }
    }

    /// Fails every waiter whose deadline passed with `error`.
    func expire(_ error: EtcdError) {
        let now = ContinuousClock.now
        let expired = waiters.withLock { waiters -> [CheckedContinuation<ApplyResult, any Error>] in
            let ids = waiters.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { waiters.removeValue(forKey: $0)?.continuation }
        }
        for continuation in expired { continuation.resume(throwing: error) }
    }

    /// Number of clients waiting.
    var count: Int { waiters.withLock { $0.count } }

    /// Hands the result to the waiter of `id`, if one is (still) waiting.
    func trigger(_ id: UInt64, _ result: Result<ApplyResult, EtcdError>) {
        guard let waiter = waiters.withLock({ $0.removeValue(forKey: id) }) else { return }
        waiter.continuation.resume(with: result.mapError { $0 as any Error })
    }

    /// Fails every waiter (the server is stopping).
    func failAll(_ error: EtcdError) {
        let all = waiters.withLock { waiters in
            defer { waiters.removeAll() }
            return waiters.values.map(\.continuation)
        }
        for continuation in all { continuation.resume(throwing: error) }
    }
}
