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
    /// An Authenticate entry issued this simple token.
    case authenticated(token: String)
    case none
}

/// Receives the outcome of applying a proposal, on the thread that applied it.
typealias ApplyCompletion = @Sendable (Result<ApplyResult, EtcdError>) -> Void

/// Clients waiting for their proposal to be applied, by request ID (etcd's `wait`).
final class WaitRegistry: Sendable {
    private struct Waiter {
        var completion: ApplyCompletion
        var deadline: ContinuousClock.Instant
    }

    private let waiters = Mutex<[UInt64: Waiter]>([:])

    func register(_ id: UInt64, deadline: ContinuousClock.Instant, _ completion: @escaping ApplyCompletion) {
        waiters.withLock { $0[id] = Waiter(completion: completion, deadline: deadline) }
    }

    /// Fails every waiter whose deadline passed with `error`.
    func expire(_ error: EtcdError) {
        let now = ContinuousClock.now
        let expired = waiters.withLock { waiters -> [ApplyCompletion] in
            let ids = waiters.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { waiters.removeValue(forKey: $0)?.completion }
        }
        for completion in expired { completion(.failure(error)) }
    }

    /// Number of clients waiting.
    var count: Int { waiters.withLock { $0.count } }

    /// Hands the result to the waiter of `id`, if one is (still) waiting.
    func trigger(_ id: UInt64, _ result: Result<ApplyResult, EtcdError>) {
        guard let waiter = waiters.withLock({ $0.removeValue(forKey: id) }) else { return }
        waiter.completion(result)
    }

    /// Fails every waiter (the server is stopping).
    func failAll(_ error: EtcdError) {
        let all = waiters.withLock { waiters in
            defer { waiters.removeAll() }
            return waiters.values.map(\.completion)
        }
        for completion in all { completion(.failure(error)) }
    }
}
