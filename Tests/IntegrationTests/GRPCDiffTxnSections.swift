import EtcdProto
import Foundation
import GRPCCore
import SwiftProtobuf

/// The KV sections about transactions and compaction.
extension Scenario {
    func txns() async {
        func txn(_ label: String, _ compares: [Etcdserverpb_Compare], success: [Etcdserverpb_RequestOp] = [],
                 failure: [Etcdserverpb_RequestOp] = []) async {
            let request = txnRequest(compares, success: success, failure: failure)
            await call("txn \(label)") { try await c.kv.txn(request) }
        }
        await call("range a before txns") { try await c.kv.range(rangeRequest("a")) }
        let results: [Etcdserverpb_Compare.CompareResult] = [.equal, .notEqual, .greater, .less]
        let targets: [(String, Etcdserverpb_Compare.OneOf_TargetUnion)] = [
            ("version 5", .version(5)), ("version 4", .version(4)),
            ("create 2", .createRevision(2)), ("create 3", .createRevision(3)),
            ("mod 20", .modRevision(20)), ("mod 25", .modRevision(25)),
            ("value 5", .value(Data("5".utf8))), ("value 4", .value(Data("4".utf8))),
        ]
        for (name, union) in targets {
            for result in results {
                await txn("a \(name) \(result)", [compare("a", result, union)],
                          success: [rangeOp("a")], failure: [rangeOp("b")])
            }
        }
        // Compares over ranges: every key in the range must satisfy it.
        await txn("range version > 0", [compare("a", .greater, .version(0), end: "c")], success: [rangeOp("a", "c")])
        await txn("range value = 2 (a differs)", [compare("a", .equal, .value(Data("2".utf8)), end: "c")],
                  success: [putOp("t1", "s")], failure: [putOp("t1", "f")])
        await txn("range create < 5", [compare("a", .less, .createRevision(5), end: "d")], success: [rangeOp("t1")])
        await txn("from-key mod > 1", [compare("b", .greater, .modRevision(1), end: "\0")], success: [rangeOp("t1")], failure: [rangeOp("a")])
        await txn("empty range compare", [compare("x1", .equal, .version(7), end: "x2")], success: [rangeOp("t1")], failure: [rangeOp("a")])
        // Missing keys: version/create/mod 0, value "".
        await txn("missing version = 0", [compare("missing", .equal, .version(0))], success: [putOp("t2", "1")])
        await txn("missing create = 0", [compare("missing", .equal, .createRevision(0))], success: [rangeOp("t2")])
        await txn("missing value = \"\"", [compare("missing", .equal, .value(Data()))], success: [rangeOp("t2")], failure: [rangeOp("a")])
        await txn("missing value < a", [compare("missing", .less, .value(Data("a".utf8)))], success: [rangeOp("t2")], failure: [rangeOp("a")])
        // Several compares, all must hold.
        await txn("two compares, one fails", [compare("a", .equal, .version(5)), compare("b", .equal, .version(9))],
                  success: [putOp("t3", "s")], failure: [putOp("t3", "f"), rangeOp("t3")])
        await txn("no compares", [], success: [putOp("t4", "1"), rangeOp("t4")])
        await txn("empty txn", [])
        // Mixed ops see each other's effects, in order.
        await txn("mixed ops", [compare("t4", .equal, .version(1))],
                  success: [putOp("m1", "1", prevKV: true), rangeOp("m", "n"), deleteOp("t4", prevKV: true), putOp("m2", "2"),
                            rangeOp("\0", "\0", countOnly: true), deleteOp("m1", "m2")])
        await txn("failure branch with writes", [compare("t4", .equal, .version(1))],
                  success: [putOp("never", "1")], failure: [putOp("f1", "1"), putOp("f2", "2", prevKV: true), rangeOp("f", "g")])
        // Nested txns.
        await txn("nested", [compare("f1", .equal, .version(1))],
                  success: [txnOp([compare("f2", .equal, .value(Data("2".utf8)))], success: [putOp("n/1", "a"), rangeOp("n/", "n0")],
                                  failure: [putOp("n/1", "b")]),
                            rangeOp("n/1")])
        await txn("nested failure branch", [compare("f1", .equal, .version(1))],
                  success: [txnOp([compare("f2", .equal, .value(Data("x".utf8)))], success: [putOp("n/2", "a")],
                                  failure: [putOp("n/2", "b"), txnOp([], success: [deleteOp("n/1", prevKV: true)])])],
                  failure: [putOp("n/3", "never")])
        await txn("nested in failure", [compare("f1", .equal, .version(9))],
                  failure: [txnOp([compare("f2", .greater, .version(0))], success: [rangeOp("n/", "n0")])])
        // LEASE compares: a key attached to lease 0x5001 (granted here).
        await call("lease grant for compares") { try await c.lease.leaseGrant(grantRequest(0x5001, 300)) }
        await call("put with lease") { var r = putRequest("lk", "v"); r.lease = 0x5001; return try await c.kv.put(r) }
        for result in results {
            await txn("lease \(result) 0x5001", [compare("lk", result, .lease(0x5001))], success: [rangeOp("lk")], failure: [rangeOp("a")])
        }
        await txn("lease = 0 on a key without lease", [compare("a", .equal, .lease(0))], success: [rangeOp("lk")])
        await txn("lease = 0 on a missing key", [compare("missing", .equal, .lease(0))], success: [rangeOp("lk")], failure: [rangeOp("a")])
        await txn("lease over range", [compare("lk", .equal, .lease(0x5001), end: "lm")], success: [rangeOp("lk")])
        // A target that does not match the union field.
        var mismatched = compare("a", .equal, .value(Data("5".utf8)))
        mismatched.target = .version
        await txn("target version with a value union", [mismatched], success: [rangeOp("lk")], failure: [rangeOp("a")])
        await txn("txn reading revision 3", [], success: [rangeOp("a", revision: 3)])
        await txn("txn with future revision read", [], success: [rangeOp("a", revision: 999)])
    }

    func txnValidation() async {
        func txn(_ label: String, _ compares: [Etcdserverpb_Compare] = [], success: [Etcdserverpb_RequestOp] = [],
                 failure: [Etcdserverpb_RequestOp] = []) async {
            let request = txnRequest(compares, success: success, failure: failure)
            await call("invalid txn \(label)") { try await c.kv.txn(request) }
        }
        let many = (1...129).map { putOp("k\($0)", "") }
        await txn("129 success ops", success: many)
        await txn("129 failure ops", failure: many)
        await txn("129 compares", (1...129).map { compare("k\($0)", .equal, .version(0)) })
        await txn("128 success ops", success: Array(many.prefix(128)))
        await txn("nested ops over the budget", success: (1...99).map { putOp("o\($0)", "") } + [txnOp([], success: (1...30).map { putOp("p\($0)", "") })])
        await txn("nested ops within the budget", success: (1...99).map { rangeOp("o\($0)") } + [txnOp([], success: (1...29).map { rangeOp("q\($0)") })])
        await txn("compare with empty key", [compare("", .equal, .version(0))])
        await txn("range op with empty key", success: [rangeOp("")])
        await txn("put op with empty key", success: [putOp("", "v")])
        await txn("delete op with empty key", failure: [deleteOp("")])
        await txn("nested op with empty key", success: [txnOp([], success: [putOp("", "v")])])
        await txn("put op ignore_value with value", success: [{ var op = putOp("a", "v"); op.requestPut.ignoreValue = true; return op }()])
        // Duplicate keys (etcd's checkIntervals).
        await txn("put x twice", success: [putOp("x", "1"), putOp("x", "2")])
        await txn("put x twice in failure", failure: [putOp("x", "1"), putOp("x", "2")])
        await txn("put x in success and in failure", success: [putOp("x", "1")], failure: [putOp("x", "2")])
        await txn("put x and delete [w, y)", success: [putOp("x", "1"), deleteOp("w", "y")])
        await txn("delete x and put x", success: [deleteOp("x"), putOp("x", "1")])
        await txn("two overlapping deletes", success: [deleteOp("w", "y"), deleteOp("x")])
        await txn("put x outside and inside a nested txn", success: [putOp("x", "1"), txnOp([], success: [putOp("x", "2")])])
        await txn("put x in both branches of a nested txn", success: [txnOp([], success: [putOp("x", "1")], failure: [putOp("x", "2")])])
        await txn("put x in two nested txns", success: [txnOp([], success: [putOp("x", "1")]), txnOp([], success: [putOp("x", "2")])])
        await txn("put x in two nested txns' failures", success: [txnOp([], failure: [putOp("x", "1")]), txnOp([], failure: [putOp("x", "2")])])
        await txn("nested then and outer else", success: [txnOp([], success: [putOp("x", "1")])], failure: [putOp("x", "2")])
        await txn("delete outside, put inside", success: [deleteOp("w", "y"), txnOp([], success: [putOp("x", "1")])])
        await txn("delete inside, put outside", success: [txnOp([], success: [deleteOp("x")]), putOp("x", "1")])
        await txn("nested else put, nested then put (other txn)", success: [txnOp([], failure: [putOp("x", "1")]), txnOp([], success: [putOp("x", "2")])])
        await txn("range and put same key", success: [rangeOp("x"), putOp("x", "1"), rangeOp("x")])
        await txn("an empty op", success: [Etcdserverpb_RequestOp()])
        await txn("an empty op in a nested txn", failure: [txnOp([], success: [Etcdserverpb_RequestOp()])])
        await call("range x after validation") { try await c.kv.range(rangeRequest("x")) }
    }

    func compaction() async {
        let current = await revision()
        await call("compact current-10") { var r = Etcdserverpb_CompactionRequest(); r.revision = current - 10; return try await c.kv.compact(r) }
        await call("compact same again") { var r = Etcdserverpb_CompactionRequest(); r.revision = current - 10; return try await c.kv.compact(r) }
        await call("compact below") { var r = Etcdserverpb_CompactionRequest(); r.revision = 3; return try await c.kv.compact(r) }
        await call("compact future") { var r = Etcdserverpb_CompactionRequest(); r.revision = current + 1; return try await c.kv.compact(r) }
        await call("compact 0") { try await c.kv.compact(Etcdserverpb_CompactionRequest()) }
        await call("range at the compacted revision - 1") { try await c.kv.range(rangeRequest("a") { $0.revision = current - 11 }) }
        await call("range at the compacted revision") { try await c.kv.range(rangeRequest("\0", "\0") { $0.revision = current - 10; $0.keysOnly = true }) }
        await call("txn reading a compacted revision") {
            var r = Etcdserverpb_TxnRequest()
            r.success = [rangeOp("a", revision: 2)]
            return try await c.kv.txn(r)
        }
        await call("compact physical") { var r = Etcdserverpb_CompactionRequest(); r.revision = current - 5; r.physical = true; return try await c.kv.compact(r) }
        let stream = watchStream()
        stream.send(watchCreate("w/", "w0", start: 2))
        await watchStep("watch from a compacted revision", stream)
        stream.send(watchCreate("w/", "w0", start: current - 5, id: 5))
        await watchStep("watch from the compact revision", stream)
        await stream.close()
    }
}
