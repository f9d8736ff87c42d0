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
    case none
}

/// Clients waiting for their proposal to be applied, by request ID (etcd's `wait`).
final class WaitRegistry: Sendable {
    private let waiters = Mutex<[UInt64: CheckedContinuation<ApplyResult, any Error>]>([:])

    func register(_ id: UInt64, _ continuation: CheckedContinuation<ApplyResult, any Error>) {
        waiters.withLock { $0[id] = continuation }
    }

    /// Number of clients waiting.
    var count: Int { waiters.withLock { $0.count } }

    /// Hands the result to the waiter of `id`, if one is (still) waiting.
    func trigger(_ id: UInt64, _ result: Result<ApplyResult, EtcdError>) {
        guard let continuation = waiters.withLock({ $0.removeValue(forKey: id) }) else { return }
        continuation.resume(with: result.mapError { $0 as any Error })
    }

    /// Fails every waiter (the server is stopping).
    func failAll(_ error: EtcdError) {
        let all = waiters.withLock { waiters in
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for continuation in all { continuation.resume(throwing: error) }
    }
}
