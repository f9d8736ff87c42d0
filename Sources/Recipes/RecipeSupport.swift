import EtcdProto
import EtcdServer
import Foundation

/// The building blocks of etcd's concurrency recipes (locks, elections), run inside the
/// server against its own KV and watch machinery, as etcd's v3lock/v3election services do.
extension EtcdServer {
    /// The range-end that makes `prefix` a prefix range.
    static func prefixEnd(_ prefix: Data) -> Data {
        var end = [UInt8](prefix)
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return Data(end)
            }
            end.removeLast()
        }
        return Data([0])
    }

    /// The key under `prefix` created first (`first`) or last, optionally only among keys
    /// created at or before `maxCreateRevision`.
    func keyByCreation(prefix: Data, first: Bool, maxCreateRevision: Int64 = 0) async throws(EtcdError) -> Etcdserverpb_RangeResponse {
        var request = Etcdserverpb_RangeRequest()
        request.key = prefix
        request.rangeEnd = Self.prefixEnd(prefix)
        request.sortTarget = .create
        request.sortOrder = first ? .ascend : .descend
        request.limit = 1
        request.maxCreateRevision = maxCreateRevision
        return try await range(request, as: Self.recipeCaller)
    }

    /// Waits until `key` is deleted, watching from `revision`.
    func waitDelete(key: Data, from revision: Int64) async throws(EtcdError) {
        let stream = makeWatchStream()
        defer { stream.close() }
        stream.watch(id: nil, key: key, rangeEnd: Data(), startRevision: revision)
        while true {
            let output = await withTaskCancellationHandler(
                operation: { await stream.next() }, onCancel: { stream.close() })
            guard let output else { throw EtcdError(kind: .canceled) }
            guard case .events(_, let events, _, let compactRevision) = output else { continue }
            if compactRevision != 0 { throw EtcdError.compacted }
            if events.contains(where: { $0.type == .delete }) { return }
        }
    }

    /// Waits until every key under `prefix` created at or before `maxCreateRevision` is gone;
    /// returns the header of the read that found none.
    func waitDeletes(prefix: Data, maxCreateRevision: Int64) async throws(EtcdError) -> Etcdserverpb_ResponseHeader {
        while true {
            let last = try await keyByCreation(prefix: prefix, first: false, maxCreateRevision: maxCreateRevision)
            guard let kv = last.kvs.first else { return last.header }
            try await waitDelete(key: kv.key, from: last.header.revision)
        }
    }

    /// A compare of `key`'s create revision with `revision`.
    static func createRevisionIs(_ key: Data, _ revision: Int64) -> Etcdserverpb_Compare {
        var compare = Etcdserverpb_Compare()
        compare.key = key
        compare.target = .create
        compare.result = .equal
        compare.targetUnion = .createRevision(revision)
        return compare
    }

    static func putOp(_ key: Data, _ value: Data, lease: Int64) -> Etcdserverpb_RequestOp {
        var put = Etcdserverpb_PutRequest()
        put.key = key
        put.value = value
        put.lease = lease
        var op = Etcdserverpb_RequestOp()
        op.request = .requestPut(put)
        return op
    }

    static func getOp(_ key: Data) -> Etcdserverpb_RequestOp {
        var get = Etcdserverpb_RangeRequest()
        get.key = key
        var op = Etcdserverpb_RequestOp()
        op.request = .requestRange(get)
        return op
    }

    static func firstCreatedOp(_ prefix: Data) -> Etcdserverpb_RequestOp {
        var get = Etcdserverpb_RangeRequest()
        get.key = prefix
        get.rangeEnd = prefixEnd(prefix)
        get.sortTarget = .create
        get.sortOrder = .ascend
        get.limit = 1
        var op = Etcdserverpb_RequestOp()
        op.request = .requestRange(get)
        return op
    }

    static func deleteOp(_ key: Data) -> Etcdserverpb_RequestOp {
        var delete = Etcdserverpb_DeleteRangeRequest()
        delete.key = key
        var op = Etcdserverpb_RequestOp()
        op.request = .requestDeleteRange(delete)
        return op
    }

    /// etcd serves the lock and election services through its own client library
    /// (v3lock/v3election on clientv3), so every error reaches their clients as a plain Go
    /// error: gRPC code Unknown with etcd's message.
    static func asRecipeError<T>(as caller: Credentials, _ body: () async throws(EtcdError) -> T) async throws(EtcdError) -> T {
        do {
            return try await $recipeCaller.withValue(caller) { try await body() }
        } catch let error as EtcdError {
            throw EtcdError(.unknown, error.message)
        } catch {
            throw EtcdError(.unknown, "\(error)")
        }
    }

    /// Who the recipe running in this task runs for: etcd's recipes are clients of the
    /// server that carry their caller's token, so every KV call a recipe makes is checked
    /// against the caller's permissions.
    @TaskLocal static var recipeCaller = Credentials.none

    /// etcd's concurrency.NewSession for a request without a lease: a new lease with the
    /// session's default TTL (60 s), which then lives on its own (the session is orphaned).
    func sessionLease(_ lease: Int64) async throws(EtcdError) -> Int64 {
        guard lease == 0 else { return lease }
        var grant = Etcdserverpb_LeaseGrantRequest()
        grant.ttl = 60
        return try await leaseGrant(grant, as: Self.recipeCaller).id
    }

    /// The key a session owns under a recipe prefix: the prefix and the lease ID in hex.
    static func ownerKey(prefix: Data, lease: Int64) -> Data {
        prefix + Data(String(UInt64(bitPattern: lease), radix: 16).utf8)
    }
}

extension Etcdserverpb_ResponseOp {
    var rangeResponse: Etcdserverpb_RangeResponse {
        if case .responseRange(let range) = response { return range }
        return Etcdserverpb_RangeResponse()
    }
}
