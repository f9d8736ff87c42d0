import EtcdProto
import Foundation
import GRPCCore
import SwiftProtobuf

/// The KV sections: writes that later sections read, ranges, puts, deletes.
extension Scenario {
    func kvSetup() async {
        let writes: [(String, String)] = [
            ("a", "1"), ("b", "1"), ("c", "1"), ("a", "2"), ("foo", "x"), ("foo/bar", "y"), ("foo/baz", "z"),
            ("b", "2"), ("zoo", "last"), ("a", "3"), ("d", "dd"),
        ]
        for (key, value) in writes {
            await call("put \(key)=\(value)") { try await c.kv.put(putRequest(key, value)) }
        }
        await call("delete d") { try await c.kv.deleteRange(deleteRequest("d")) }
        await call("put e=e") { try await c.kv.put(putRequest("e", "e")) }
    }

    func ranges() async {
        func range(_ label: String, _ key: String, _ end: String? = nil, _ configure: (inout Etcdserverpb_RangeRequest) -> Void = { _ in }) async {
            var request = rangeRequest(key, end)
            configure(&request)
            await call("range \(label)") { try await c.kv.range(request) }
        }
        await range("one key", "a")
        await range("missing key", "nope")
        await range("[a, c)", "a", "c")
        await range("end before key", "c", "a")
        await range("prefix foo", "foo", "fop")
        await range("from key b", "b", "\0")
        await range("all", "\0", "\0")
        await range("count only", "\0", "\0") { $0.countOnly = true }
        await range("keys only prefix", "foo", "fop") { $0.keysOnly = true }
        await range("count only + limit", "\0", "\0") { $0.countOnly = true; $0.limit = 2 }
        await range("keys only + limit + descend", "\0", "\0") { $0.keysOnly = true; $0.limit = 2; $0.sortOrder = .descend }
        await range("limit 3", "\0", "\0") { $0.limit = 3 }
        await range("limit = count", "\0", "\0") { $0.limit = 8 }
        await range("limit negative", "\0", "\0") { $0.limit = -1 }
        await range("min mod 5", "\0", "\0") { $0.minModRevision = 5 }
        await range("max mod 8", "\0", "\0") { $0.maxModRevision = 8 }
        await range("min create 4", "\0", "\0") { $0.minCreateRevision = 4 }
        await range("max create 6", "\0", "\0") { $0.maxCreateRevision = 6 }
        await range("mod in [5, 9]", "\0", "\0") { $0.minModRevision = 5; $0.maxModRevision = 9 }
        await range("create in [3, 8] limit 2", "\0", "\0") { $0.minCreateRevision = 3; $0.maxCreateRevision = 8; $0.limit = 2 }
        await range("min mod + count only", "\0", "\0") { $0.minModRevision = 9; $0.countOnly = true }
        await range("max create + keys only + rev 9", "\0", "\0") { $0.maxCreateRevision = 6; $0.keysOnly = true; $0.revision = 9 }
        let targets: [Etcdserverpb_RangeRequest.SortTarget] = [.key, .version, .create, .mod, .value]
        let orders: [Etcdserverpb_RangeRequest.SortOrder] = [.none, .ascend, .descend]
        for target in targets {
            for order in orders {
                for limit in [0, 2] as [Int64] {
                    await range("sort \(target) \(order) limit \(limit)", "\0", "\0") {
                        $0.sortTarget = target
                        $0.sortOrder = order
                        $0.limit = limit
                    }
                }
            }
        }
        await range("sort value descend, min mod 4, limit 3", "\0", "\0") {
            $0.sortTarget = .value; $0.sortOrder = .descend; $0.minModRevision = 4; $0.limit = 3
        }
        await range("sort version ascend prefix rev 8", "foo", "fop") { $0.sortTarget = .version; $0.sortOrder = .ascend; $0.revision = 8 }
        await range("rev 1", "\0", "\0") { $0.revision = 1 }
        await range("rev 3", "\0", "\0") { $0.revision = 3 }
        await range("rev 7 prefix", "foo", "fop") { $0.revision = 7 }
        await range("rev 12 (before the delete)", "d") { $0.revision = 12 }
        await range("rev 13 (after the delete)", "d") { $0.revision = 13 }
        await range("current rev", "a") { $0.revision = 14 }
        await range("future rev", "a") { $0.revision = 15 }
        await range("far future rev", "a") { $0.revision = 1000 }
        await range("negative rev", "a") { $0.revision = -1 }
        await range("serializable", "\0", "\0") { $0.serializable = true }
        await range("serializable rev 5", "a") { $0.serializable = true; $0.revision = 5 }
        await range("empty key", "")
        await range("empty key with range end", "", "z")
    }

    func puts() async {
        await call("put prev_kv existing") { var r = putRequest("a", "4"); r.prevKv = true; return try await c.kv.put(r) }
        await call("put prev_kv new") { var r = putRequest("n1", "v"); r.prevKv = true; return try await c.kv.put(r) }
        await call("put ignore_value") { var r = putRequest("a", ""); r.ignoreValue = true; r.prevKv = true; return try await c.kv.put(r) }
        await call("range after ignore_value") { try await c.kv.range(rangeRequest("a")) }
        await call("put ignore_value with value") { var r = putRequest("a", "x"); r.ignoreValue = true; return try await c.kv.put(r) }
        await call("put ignore_lease with lease") { var r = putRequest("a", "x"); r.ignoreLease = true; r.lease = 5; return try await c.kv.put(r) }
        await call("put ignore_value missing key") { var r = putRequest("missing", ""); r.ignoreValue = true; return try await c.kv.put(r) }
        await call("put ignore_lease missing key") { var r = putRequest("missing", "v"); r.ignoreLease = true; return try await c.kv.put(r) }
        await call("put ignore_lease existing") { var r = putRequest("a", "5"); r.ignoreLease = true; return try await c.kv.put(r) }
        await call("put unknown lease") { var r = putRequest("a", "x"); r.lease = 0x7777; return try await c.kv.put(r) }
        await call("put empty key") { try await c.kv.put(putRequest("", "x")) }
        await call("put empty value") { try await c.kv.put(putRequest("empty", "")) }
        await call("put binary key") {
            var r = Etcdserverpb_PutRequest()
            r.key = Data([0, 0xff, 0x10])
            r.value = Data([0xfe, 0])
            r.prevKv = true
            return try await c.kv.put(r)
        }
        await call("put too large") { try await c.kv.put(putRequest("big", String(repeating: "x", count: 100_001))) }
        await call("put just below the limit") { try await c.kv.put(putRequest("big", String(repeating: "x", count: 99_900))) }
        await call("range binary") { try await c.kv.range(rangeRequest("\0", "\0") { $0.keysOnly = true }) }
    }

    func deletes() async {
        await call("delete missing") { try await c.kv.deleteRange(deleteRequest("nope")) }
        await call("delete missing prev_kv") { var r = deleteRequest("nope"); r.prevKv = true; return try await c.kv.deleteRange(r) }
        await call("delete range prev_kv") { var r = deleteRequest("foo/", "foo0"); r.prevKv = true; return try await c.kv.deleteRange(r) }
        await call("delete one prev_kv") { var r = deleteRequest("n1"); r.prevKv = true; return try await c.kv.deleteRange(r) }
        await call("delete from key prev_kv") { var r = deleteRequest("z", "\0"); r.prevKv = true; return try await c.kv.deleteRange(r) }
        await call("delete binary + big") {
            var r = Etcdserverpb_DeleteRangeRequest()
            r.key = Data([0])
            r.rangeEnd = Data([0x01])
            return try await c.kv.deleteRange(r)
        }
        await call("delete big") { try await c.kv.deleteRange(deleteRequest("big")) }
        await call("delete empty key") { try await c.kv.deleteRange(deleteRequest("")) }
        await call("delete end before key") { try await c.kv.deleteRange(deleteRequest("z", "a")) }
        await call("range all after deletes") { try await c.kv.range(rangeRequest("\0", "\0")) }
    }
}
