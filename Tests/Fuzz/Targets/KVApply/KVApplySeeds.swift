import EtcdProto
import Foundation

/// The seed corpus: ordinary requests and the edges etcd's clients can send (limits near
/// Int64.max, negative revisions, huge TTLs, nested txns) after a few writes to work on.
extension KVApplyTarget {
    static func seeds() throws -> [(name: String, input: [UInt8])] {
        let setup = try [put("a", "1"), put("b", "2", lease: 7), put("c", "3"), put("d", "4")].joined()
        let lease7 = try request(.leaseGrant, grant(id: 7, ttl: 60))
        let cases: [(String, [UInt8])] = [
            ("put-range", try put("foo", "bar") + request(.range, range("foo"))),
            ("range-all-sorted", try request(.range, range("a", end: "\0", limit: 2, sort: .descend, target: .mod))),
            ("range-limit-near-max", try request(.range, range("a", end: "z", limit: Int64.max - 1))),
            ("range-negative-revision", try request(.range, range("a", revision: -1))),
            ("range-filters", try request(.range, filtered())),
            ("put-ignore-value", try request(.put, ignoring())),
            ("delete-prev", try request(.deleteRange, delete("a", end: "c"))),
            ("txn-compare", try request(.txn, txn(depth: 1))),
            ("txn-nested-3", try request(.txn, txn(depth: 3))),
            ("txn-nested-40", try request(.txn, txn(depth: 40))),
            ("compact", try put("a", "5") + request(.compaction, compaction(2)) + request(.range, range("a", revision: 1))),
            ("compact-negative", try request(.compaction, compaction(-5))),
            ("compact-future", try request(.compaction, compaction(Int64.max))),
            ("lease-huge-ttl", try request(.leaseGrant, grant(id: Int64.max, ttl: Int64.max))),
            ("lease-negative", try request(.leaseGrant, grant(id: -1, ttl: -1))),
            ("lease-revoke", try request(.leaseRevoke, revoke(7))),
        ]
        return cases.map { ($0.0, lease7 + setup + $0.1) }
    }

    private static func put(_ key: String, _ value: String, lease: Int64 = 0) throws -> [UInt8] {
        var put = Etcdserverpb_PutRequest()
        put.key = Data(key.utf8)
        put.value = Data(value.utf8)
        put.lease = lease
        return try request(.put, put)
    }

    private static func range(
        _ key: String, end: String = "", limit: Int64 = 0, revision: Int64 = 0,
        sort: Etcdserverpb_RangeRequest.SortOrder = .none, target: Etcdserverpb_RangeRequest.SortTarget = .key
    ) -> Etcdserverpb_RangeRequest {
        var range = Etcdserverpb_RangeRequest()
        range.key = Data(key.utf8)
        range.rangeEnd = Data(end.utf8)
        range.limit = limit
        range.revision = revision
        range.sortOrder = sort
        range.sortTarget = target
        return range
    }

    private static func filtered() -> Etcdserverpb_RangeRequest {
        var request = range("a", end: "\0", limit: 3)
        request.minModRevision = 2
        request.maxModRevision = Int64.max
        request.minCreateRevision = -1
        request.keysOnly = true
        return request
    }

    private static func ignoring() -> Etcdserverpb_PutRequest {
        var put = Etcdserverpb_PutRequest()
        put.key = Data("b".utf8)
        put.ignoreValue = true
        put.ignoreLease = true
        put.prevKv = true
        return put
    }

    private static func delete(_ key: String, end: String) -> Etcdserverpb_DeleteRangeRequest {
        var delete = Etcdserverpb_DeleteRangeRequest()
        delete.key = Data(key.utf8)
        delete.rangeEnd = Data(end.utf8)
        delete.prevKv = true
        return delete
    }

    /// A txn `depth` levels deep: each level compares, puts and ranges, and nests the next.
    private static func txn(depth: Int) -> Etcdserverpb_TxnRequest {
        var request = Etcdserverpb_TxnRequest()
        var compare = Etcdserverpb_Compare()
        compare.key = Data("a".utf8)
        compare.target = .mod
        compare.result = .greater
        compare.modRevision = 1
        request.compare = [compare]
        var put = Etcdserverpb_RequestOp()
        put.requestPut.key = Data("k\(depth)".utf8)
        var read = Etcdserverpb_RequestOp()
        read.requestRange = range("a", end: "\0", limit: 1)
        request.success = [put, read]
        request.failure = [read]
        if depth > 1 {
            var nested = Etcdserverpb_RequestOp()
            nested.requestTxn = txn(depth: depth - 1)
            request.success.append(nested)
        }
        return request
    }

    private static func compaction(_ revision: Int64) -> Etcdserverpb_CompactionRequest {
        var compaction = Etcdserverpb_CompactionRequest()
        compaction.revision = revision
        return compaction
    }

    private static func grant(id: Int64, ttl: Int64) -> Etcdserverpb_LeaseGrantRequest {
        var grant = Etcdserverpb_LeaseGrantRequest()
        grant.id = id
        grant.ttl = ttl
        return grant
    }

    private static func revoke(_ id: Int64) -> Etcdserverpb_LeaseRevokeRequest {
        var revoke = Etcdserverpb_LeaseRevokeRequest()
        revoke.id = id
        return revoke
    }
}
