import EtcdProto
import Foundation
import MVCC

/// etcd's KV semantics on top of the MVCC store: ranges with sorting, filters and limits;
/// puts with prev_kv / ignore_value / ignore_lease; deletes; and transactions with
/// compares and nested transactions. The same code serves the apply loop (with a write
/// transaction) and local reads (with a read view).
struct KVApplier: Sendable {
    /// Whether a lease with this ID exists (puts to a missing lease are refused).
    let leaseExists: @Sendable (Int64) -> Bool

    // MARK: Range

    func range(_ request: Etcdserverpb_RangeRequest, in view: ReadView) throws(EtcdError) -> Etcdserverpb_RangeResponse {
        let filtered = request.minModRevision != 0 || request.maxModRevision != 0
            || request.minCreateRevision != 0 || request.maxCreateRevision != 0
        // Sorting and filtering need every match; otherwise one extra key tells `more`.
        // A limit of Int64.max has no room for the extra key; it cannot be reached anyway.
        var limit = Int(request.limit)
        if request.sortOrder != .none || filtered { limit = 0 }
        if limit > 0 && limit < Int.max { limit += 1 }

        let result: RangeResult
        do {
            result = try view.range(
                KeyRange(key: request.key, rangeEnd: request.rangeEnd),
                options: RangeOptions(limit: limit, revision: request.revision, countOnly: request.countOnly))
        } catch {
            throw EtcdError.wrapping(error)
        }

        var kvs = result.kvs
        if request.maxModRevision != 0 { kvs.removeAll { $0.modRevision > request.maxModRevision } }
        if request.minModRevision != 0 { kvs.removeAll { $0.modRevision < request.minModRevision } }
        if request.maxCreateRevision != 0 { kvs.removeAll { $0.createRevision > request.maxCreateRevision } }
        if request.minCreateRevision != 0 { kvs.removeAll { $0.createRevision < request.minCreateRevision } }

        var order = request.sortOrder
        if request.sortTarget != .key && order == .none { order = .ascend }
        if order != .none {
            RangeSorter.sort(&kvs, target: request.sortTarget, descending: order == .descend)
        }

        var response = Etcdserverpb_RangeResponse()
        if request.limit > 0 && kvs.count > Int(request.limit) {
            kvs.removeSubrange(Int(request.limit)...)
            response.more = true
        }
        response.header.revision = result.revision
        response.count = Int64(result.count)
        response.kvs = kvs.map { kv in
            var converted = Mvccpb_KeyValue(kv)
            if request.keysOnly { converted.value = Data() }
            return converted
        }
        return response
    }

    // MARK: Put and delete

    func put(_ request: Etcdserverpb_PutRequest, in txn: WriteTxn) throws(EtcdError) -> Etcdserverpb_PutResponse {
        var value = request.value
        var lease = request.lease
        var response = Etcdserverpb_PutResponse()
        do {
            if request.ignoreValue || request.ignoreLease || request.prevKv {
                let previous = try txn.range(.single([UInt8](request.key)), options: RangeOptions()).kvs.first
                if request.ignoreValue || request.ignoreLease {
                    guard let previous else { throw EtcdError.keyNotFound }
                    if request.ignoreValue { value = previous.value }
                    if request.ignoreLease { lease = previous.lease }
                }
                if request.prevKv, let previous { response.prevKv = Mvccpb_KeyValue(previous) }
            }
            response.header.revision = try txn.put(key: request.key, value: value, lease: lease)
        } catch {
            throw EtcdError.wrapping(error)
        }
        return response
    }

    func deleteRange(_ request: Etcdserverpb_DeleteRangeRequest, in txn: WriteTxn) throws(EtcdError) -> Etcdserverpb_DeleteRangeResponse {
        var response = Etcdserverpb_DeleteRangeResponse()
        let range = KeyRange(key: request.key, rangeEnd: request.rangeEnd)
        do {
            if request.prevKv {
                response.prevKvs = try txn.range(range, options: RangeOptions()).kvs.map(Mvccpb_KeyValue.init)
            }
            let (deleted, revision) = try txn.deleteRange(range)
            response.deleted = deleted
            response.header.revision = revision
        } catch {
            throw EtcdError.wrapping(error)
        }
        return response
    }

    /// A standalone put (not inside a txn) also checks that its lease exists.
    func checkedPut(_ request: Etcdserverpb_PutRequest, in txn: WriteTxn) throws(EtcdError) -> Etcdserverpb_PutResponse {
        if request.lease != 0 && !leaseExists(request.lease) { throw .leaseNotFound }
        return try put(request, in: txn)
    }

    // MARK: Txn

    /// Runs a transaction: compares against `view`, then the chosen branch. With `writer`
    /// nil the transaction must be read-only and runs entirely on `view`.
    func txn(_ request: Etcdserverpb_TxnRequest, view: ReadView, writer: WriteTxn?) throws(EtcdError) -> Etcdserverpb_TxnResponse {
        let path = TxnPath(request, view: view)
        if writer != nil { try checkWrites(request, path: path, view: view) }
        try checkRanges(request, path: path, view: view)
        var cursor = 0
        var response = try execute(request, path: path, cursor: &cursor, view: writer ?? view, writer: writer)
        response.header.revision = (writer as ReadView?)?.revision ?? view.revision
        return response
    }

    private func execute(
        _ request: Etcdserverpb_TxnRequest, path: TxnPath, cursor: inout Int, view: ReadView, writer: WriteTxn?
    ) throws(EtcdError) -> Etcdserverpb_TxnResponse {
        let succeeded = path.decisions[cursor]
        cursor += 1
        var response = Etcdserverpb_TxnResponse()
        response.succeeded = succeeded
        for op in succeeded ? request.success : request.failure {
            var result = Etcdserverpb_ResponseOp()
            switch op.request {
            case .requestRange(let range):
                result.response = .responseRange(try self.range(range, in: view))
            case .requestPut(let put):
                guard let writer else { throw Self.writeInReadOnlyTxn }
                result.response = .responsePut(try self.put(put, in: writer))
            case .requestDeleteRange(let delete):
                guard let writer else { throw Self.writeInReadOnlyTxn }
                result.response = .responseDeleteRange(try deleteRange(delete, in: writer))
            case .requestTxn(let nested):
                var nestedResponse = try execute(nested, path: path, cursor: &cursor, view: view, writer: writer)
                // etcd gives a nested txn's response an empty header (present, all zero).
                nestedResponse.header = Etcdserverpb_ResponseHeader()
                result.response = .responseTxn(nestedResponse)
            case nil:
                continue
            }
            response.responses.append(result)
        }
        return response
    }

    /// `isReadOnly` sends a txn down the read path only when it has no writes, so this is
    /// a bug if it is ever seen; it is an answer rather than a trap all the same.
    private static let writeInReadOnlyTxn = EtcdError(.internalError, "etcdserver: a write reached a read-only txn")

    /// The ops a txn will run, depth first along its decided branches.
    private func chosenOps(_ request: Etcdserverpb_TxnRequest, path: TxnPath, cursor: inout Int) -> [Etcdserverpb_RequestOp] {
        let ops = path.decisions[cursor] ? request.success : request.failure
        cursor += 1
        var result: [Etcdserverpb_RequestOp] = []
        for op in ops {
            if case .requestTxn(let nested) = op.request {
                result.append(contentsOf: chosenOps(nested, path: path, cursor: &cursor))
            } else {
                result.append(op)
            }
        }
        return result
    }

    private func checkWrites(_ request: Etcdserverpb_TxnRequest, path: TxnPath, view: ReadView) throws(EtcdError) {
        var cursor = 0
        for op in chosenOps(request, path: path, cursor: &cursor) {
            guard case .requestPut(let put) = op.request else { continue }
            if put.ignoreValue || put.ignoreLease {
                let existing: RangeResult
                do { existing = try view.range(.single([UInt8](put.key)), options: RangeOptions()) } catch { throw EtcdError.wrapping(error) }
                if existing.kvs.isEmpty { throw .keyNotFound }
            }
            if put.lease != 0 && !leaseExists(put.lease) { throw .leaseNotFound }
        }
    }

    private func checkRanges(_ request: Etcdserverpb_TxnRequest, path: TxnPath, view: ReadView) throws(EtcdError) {
        var cursor = 0
        for op in chosenOps(request, path: path, cursor: &cursor) {
            guard case .requestRange(let range) = op.request, range.revision != 0 else { continue }
            if range.revision > view.revision { throw .futureRevision }
            if range.revision < view.firstRevision { throw .compacted }
        }
    }

    /// True when a txn only reads: every op of both branches is a range. As in etcd's
    /// isTxnReadonly, a nested txn counts as a write (it goes through the log), even one that
    /// only reads.
    static func isReadOnly(_ request: Etcdserverpb_TxnRequest) -> Bool {
        (request.success + request.failure).allSatisfy { op in
            if case .requestRange = op.request { return true }
            return false
        }
    }

    /// True when every range of a read-only txn is serializable.
    static func isSerializable(_ request: Etcdserverpb_TxnRequest) -> Bool {
        (request.success + request.failure).allSatisfy { op in
            switch op.request {
            case .requestRange(let range): return range.serializable
            case .requestTxn(let nested): return isSerializable(nested)
            default: return true
            }
        }
    }
}
