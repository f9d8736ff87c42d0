import EtcdProto
import Foundation

/// The checks etcd makes on a request before it goes anywhere near the log, with etcd's
/// errors. `maxTxnOps` is the `--max-txn-ops` limit.
enum RequestValidation {
    static func check(_ request: Etcdserverpb_RangeRequest) throws(EtcdError) {
        if request.key.isEmpty { throw .emptyKey }
        // etcd 3.5+ refuses sort values it does not know (3.4 crashed on an unknown target).
        if case .UNRECOGNIZED = request.sortOrder { throw .invalidSortOption }
        if case .UNRECOGNIZED = request.sortTarget { throw .invalidSortOption }
    }

    static func check(_ request: Etcdserverpb_PutRequest) throws(EtcdError) {
        if request.key.isEmpty { throw .emptyKey }
        if request.ignoreValue && !request.value.isEmpty { throw .valueProvided }
        if request.ignoreLease && request.lease != 0 { throw .leaseProvided }
    }

    static func check(_ request: Etcdserverpb_DeleteRangeRequest) throws(EtcdError) {
        if request.key.isEmpty { throw .emptyKey }
    }

    static func check(_ request: Etcdserverpb_TxnRequest, maxTxnOps: Int) throws(EtcdError) {
        try checkOps(request, maxTxnOps: maxTxnOps)
        // Overlaps are checked after the cheap checks so a huge request can't make this quadratic.
        _ = try WriteSet(request.success)
        _ = try WriteSet(request.failure)
    }

    private static func checkOps(_ request: Etcdserverpb_TxnRequest, maxTxnOps: Int) throws(EtcdError) {
        let ops = max(request.compare.count, request.success.count, request.failure.count)
        if ops > maxTxnOps { throw .tooManyOps }
        for compare in request.compare where compare.key.isEmpty { throw .emptyKey }
        for op in request.success + request.failure {
            switch op.request {
            case .requestRange(let range): try check(range)
            case .requestPut(let put): try check(put)
            case .requestDeleteRange(let delete): try check(delete)
            case .requestTxn(let nested): try checkOps(nested, maxTxnOps: maxTxnOps - ops)
            case nil: throw .keyNotFound
            }
        }
    }
}

/// The keys a list of txn operations writes, used to refuse a txn that writes a key twice
/// (two puts, or a put inside a deleted range) — etcd's "duplicate key given in txn request".
/// Nested txns may put the same key in their success and failure branches, since only one
/// of them runs.
struct WriteSet {
    private(set) var puts: Set<Data> = []
    private(set) var deletes: [(start: Data, end: Data?)] = []

    init(_ ops: [Etcdserverpb_RequestOp]) throws(EtcdError) {
        for op in ops {
            if case .requestDeleteRange(let delete) = op.request {
                deletes.append((delete.key, delete.rangeEnd.isEmpty ? nil : delete.rangeEnd))
            }
        }
        for op in ops {
            guard case .requestTxn(let nested) = op.request else { continue }
            let then = try WriteSet(nested.success)
            let otherwise = try WriteSet(nested.failure)
            for key in then.puts {
                if puts.contains(key) || deletesCover(key) { throw .duplicateKey }
                puts.insert(key)
            }
            for key in otherwise.puts {
                if puts.contains(key) && !then.puts.contains(key) { throw .duplicateKey }
                if deletesCover(key) { throw .duplicateKey }
                puts.insert(key)
            }
            deletes.append(contentsOf: then.deletes)
            deletes.append(contentsOf: otherwise.deletes)
        }
        for op in ops {
            guard case .requestPut(let put) = op.request else { continue }
            if puts.contains(put.key) || deletesCover(put.key) { throw .duplicateKey }
            puts.insert(put.key)
        }
    }

    /// Whether a delete in this set covers `key`. Like etcd, an empty range end means the
    /// single key and other ends are compared as strings where "" is beyond every key.
    private func deletesCover(_ key: Data) -> Bool {
        deletes.contains { start, end in
            guard let end else { return key == start }
            return !key.lexicographicallyPrecedes(start) && key.lexicographicallyPrecedes(end)
        }
    }
}
