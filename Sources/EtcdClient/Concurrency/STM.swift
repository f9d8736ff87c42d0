import EtcdProto
import Foundation

/// Software transactional memory over etcd (etcd's clientv3 `concurrency.STM` recipe): run a
/// function that reads and writes keys; its writes are committed in one transaction that only
/// succeeds if what it read is unchanged, else the function runs again on fresh data.
///
/// ```swift
/// // Move 10 from one account to another, atomically, with retries on conflict.
/// try await client.stm { stm in
///     let from = Int(try await stm.get("accounts/a")?.string ?? "0")!
///     let to = Int(try await stm.get("accounts/b")?.string ?? "0")!
///     stm.put("accounts/a", EtcdBytes(String(from - 10)))
///     stm.put("accounts/b", EtcdBytes(String(to + 10)))
/// }
/// ```
public final class STM {
    /// How much isolation a transaction gets.
    public enum Isolation: Sendable, Hashable {
        /// Every read sees the revision of the first read; commits fail if any key read or
        /// written changed after it. The default.
        case serializableSnapshot
        /// Reads see the revision of the first read; commits fail if a key read changed.
        case serializable
        /// Reads are served locally; commits fail if a key read changed.
        case repeatableReads
        /// No conflict detection: writes always commit.
        case readCommitted
    }

    let client: EtcdClient
    let isolation: Isolation
    private var readSet: [EtcdBytes: Etcdserverpb_RangeResponse] = [:]
    private var readOrder: [EtcdBytes] = []
    private var writeSet: [EtcdBytes: (value: EtcdBytes?, op: TxnOp)] = [:]
    private var writeOrder: [EtcdBytes] = []
    /// Reads answered from the previous attempt's failed commit.
    private var prefetched: [EtcdBytes: Etcdserverpb_RangeResponse] = [:]
    /// The revision every read uses once the first read happened (serializable levels).
    private var readRevision: Int64 = 0

    init(client: EtcdClient, isolation: Isolation) {
        self.client = client
        self.isolation = isolation
    }

    /// The key's value as this transaction sees it (its own writes first); nil if absent.
    public func get(_ key: EtcdBytes) async throws -> EtcdBytes? {
        if let write = writeSet[key] { return write.value }
        let response = try await fetch(key)
        return response.kvs.first.map { EtcdBytes($0.value) }
    }

    /// The modification revision of the key as this transaction read it (0 if absent).
    public func revision(_ key: EtcdBytes) async throws -> Int64 {
        try await fetch(key).kvs.first?.modRevision ?? 0
    }

    /// Writes the key when the transaction commits.
    public func put(_ key: EtcdBytes, _ value: EtcdBytes, options: PutOptions = PutOptions()) {
        record(key, (value, .put(key, value, options)))
    }

    /// Deletes the key when the transaction commits.
    public func delete(_ key: EtcdBytes) {
        record(key, (nil, .delete(.key(key))))
    }

    private func record(_ key: EtcdBytes, _ write: (value: EtcdBytes?, op: TxnOp)) {
        if writeSet[key] == nil { writeOrder.append(key) }
        writeSet[key] = write
    }

    private func fetch(_ key: EtcdBytes) async throws -> Etcdserverpb_RangeResponse {
        if let known = readSet[key] { return known }
        if let early = prefetched.removeValue(forKey: key) {
            remember(key, early)
            return early
        }
        var options = GetOptions()
        switch isolation {
        case .serializableSnapshot, .serializable:
            if readRevision != 0 {
                options.revision = readRevision
                options.serializable = true
            }
        case .repeatableReads, .readCommitted:
            options.serializable = true
        }
        let response = try await client.kv.get(.key(key), options: options).raw
        if readRevision == 0 && (isolation == .serializableSnapshot || isolation == .serializable) {
            readRevision = response.header.revision
        }
        remember(key, response)
        return response
    }

    private func remember(_ key: EtcdBytes, _ response: Etcdserverpb_RangeResponse) {
        if readSet[key] == nil { readOrder.append(key) }
        readSet[key] = response
    }

    /// Conditions under which the writes may commit.
    private var conflicts: [Compare] {
        func unchanged(_ key: EtcdBytes) -> Compare {
            let read = readSet[key]!
            let bound = (read.kvs.first?.modRevision ?? read.header.revision) + 1
            return .modRevision(.key(key), .less, bound)
        }
        switch isolation {
        case .serializableSnapshot:
            let first = readSet.values.map(\.header.revision).min() ?? (Int64.max - 1)
            return readOrder.map(unchanged) + writeOrder.map { .modRevision(.key($0), .less, first + 1) }
        case .serializable, .repeatableReads:
            return readOrder.map(unchanged)
        case .readCommitted:
            return []
        }
    }

    /// Tries to commit; on conflict loads what the keys read now are (in the same round trip)
    /// and returns nil.
    func commit() async throws -> TxnResponse? {
        let keys = readOrder
        let response = try await client.kv.txn(
            if: conflicts, then: writeOrder.compactMap { writeSet[$0]?.op },
            else: keys.map { .get(.key($0)) })
        if response.succeeded { return response }
        var early: [EtcdBytes: Etcdserverpb_RangeResponse] = [:]
        for (key, result) in zip(keys, response.raw.responses) { early[key] = result.responseRange }
        reset()
        prefetched = early
        if isolation == .serializableSnapshot || isolation == .serializable {
            readRevision = response.header.revision
        }
        return nil
    }

    func reset() {
        readSet = [:]
        readOrder = []
        writeSet = [:]
        writeOrder = []
        readRevision = 0
    }
}

extension EtcdClient {
    /// Runs `apply` as a software transaction (see ``STM``), again and again until its commit
    /// succeeds; returns `apply`'s last result and the commit's response. An error thrown by
    /// `apply` (or by a request) ends it without committing. `maxAttempts` bounds the retries
    /// (nil: none).
    @discardableResult
    public func stm<T>(
        isolation: STM.Isolation = .serializableSnapshot,
        maxAttempts: Int? = nil,
        _ apply: (STM) async throws -> T
    ) async throws -> (result: T, response: TxnResponse) {
        let transaction = STM(client: self, isolation: isolation)
        var attempts = 0
        while true {
            attempts += 1
            let result = try await apply(transaction)
            if let response = try await transaction.commit() {
                return (result, response)
            }
            if let maxAttempts, attempts >= maxAttempts {
                throw EtcdError(kind: .other, code: .aborted, message: "stm: gave up after \(attempts) conflicting attempts")
            }
        }
    }
}
