import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import HarnessSupport
import SwiftProtobuf
import XCTest

/// The gRPC-level differential test: the same requests, through the generated clients, to a
/// fresh real etcd and a fresh swetcd (same flags; `--max-request-bytes 100000` so that watch
/// fragmenting and the request-size limit are reached with small data). The scenario runs
/// against etcd, then against swetcd. Every response is rendered as protobuf text format
/// (errors as gRPC code and message) and compared; only member-local values are normalised:
/// server-chosen lease IDs, the version and db sizes in Status, the client port in member
/// URLs, and orders etcd leaves to Go maps (lease lists, a lease's keys, how the responses of
/// different watches of one stream interleave). Streams (Watch, LeaseKeepAlive) are compared
/// at each step: etcd's run records how many responses a step gave (waiting until quiet),
/// swetcd's run waits for as many, plus a grace time for extra ones. Status (with its raft
/// index) is compared after every section, so a request that goes through the log on one
/// server only shows up near where it happened.
///
/// `SWETCD_BIN=$(which etcd)` checks the harness (etcd against etcd); `GRPCDIFF_EXTRA_ARGS`
/// adds server flags to both; `DIFFTEST_KEEP=1` keeps both data dirs and logs.
final class GRPCDifferentialTests: XCTestCase {
    /// Small enough that fragmenting (at this plus etcd's 512 KiB gRPC allowance) and the
    /// request-size limit are reached with small data.
    static let maxRequestBytes = 100_000

    func testGRPCCallsMatchEtcd() async throws {
        let extra = (ProcessInfo.processInfo.environment["GRPCDIFF_EXTRA_ARGS"] ?? "").split(separator: " ").map(String.init)
        let pair = try ServerPair.start("grpcdiff", extraArguments: ["--max-request-bytes", "\(Self.maxRequestBytes)"] + extra)
        defer { pair.close() }
        let start = Date()
        var transcripts: [Transcript] = []
        for server in pair.servers {
            let transcript = Transcript(reference: transcripts.first)
            let scenario = try Scenario(t: transcript, clientPort: server.clientPort)
            try await scenario.waitUntilServing()
            try await scenario.run()
            await scenario.c.close()
            transcripts.append(transcript)
            XCTAssertTrue(server.isRunning, "\(server.role) exited during the scenario:\n\(server.logTail())")
        }
        let (identical, total) = transcripts[0].compare(with: transcripts[1], name: "grpc differential")
        print(String(format: "grpc differential: %d/%d calls identical (%.1f s)", identical, total, Date().timeIntervalSince(start)))
        if identical != total {
            for server in pair.servers { print("grpc differential: \(server.role) log ends:\n\(server.logTail(10))") }
        }
        XCTAssertGreaterThan(total, 150)
        XCTAssertEqual(identical, total, "\(total - identical) of \(total) gRPC calls differ from etcd")
    }
}

/// The calls, run in order against one server.
private final class Scenario {
    /// The connection of the current section. Each section gets a new one: grpc-swift's client
    /// closes a connection that received 200 RST_STREAM frames within 10 s (NIO's rapid-reset
    /// protection), and grpc-go (etcd) ends every unary call whose request's END_STREAM it has
    /// not seen yet with one.
    var c: ServiceClients
    let t: Transcript
    let clientPort: Int

    init(t: Transcript, clientPort: Int) throws {
        self.t = t
        self.clientPort = clientPort
        c = try ServiceClients(port: clientPort)
    }

    func reconnect() async throws {
        await c.close()
        c = try ServiceClients(port: clientPort)
    }

    // MARK: Building blocks

    func waitUntilServing() async throws {
        let deadline = Date().addingTimeInterval(20)
        while true {
            do {
                _ = try await c.kv.range(rangeRequest("health"), options: .timeout(seconds: 2))
                return
            } catch where Date() < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// One unary call, recorded as its response's text format or its error.
    func call<Response: SwiftProtobuf.Message>(
        _ label: String, normalize: (inout Response) -> Void = { _ in },
        _ body: () async throws -> Response
    ) async {
        do {
            var response = try await body()
            normalize(&response)
            t.record(label, response.textFormatString())
        } catch let error as RPCError {
            t.record(label, error.rendered)
        } catch {
            t.record(label, "error: \(error)")
        }
    }

    /// The responses a stream gave since its last step. `group` orders them by a key, keeping
    /// each key's own order (watch responses by watch ID: how the responses of different
    /// watches of one stream interleave is not part of etcd's contract, and etcd's own order
    /// between two watches notified of the same revision is Go map order).
    func step<Request, Response: SwiftProtobuf.Message>(
        _ label: String, _ stream: BidiStream<Request, Response>, group: ((Response) -> Int64)? = nil,
        normalize: (inout Response) -> Void = { _ in }
    ) async {
        var responses = await stream.take(expected: t.expectedCount)
        if let group {
            responses = responses.enumerated()
                .sorted { (group($0.element), $0.offset) < (group($1.element), $1.offset) }
                .map(\.element)
        }
        var text = "responses: \(responses.count)"
        for var response in responses {
            normalize(&response)
            text += "\n--- response\n" + response.textFormatString()
        }
        if let end = stream.endReason { text += "\n(\(end))" }
        t.record(label, text)
    }

    func watchStep(_ label: String, _ stream: BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse>) async {
        await step(label, stream, group: \.watchID)
    }

    func watchStream() -> BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse> {
        let watch = c.watch
        return BidiStream { producer, onResponse in
            try await watch.watch(requestProducer: producer, onResponse: onResponse)
        }
    }

    func keepAliveStream() -> BidiStream<Etcdserverpb_LeaseKeepAliveRequest, Etcdserverpb_LeaseKeepAliveResponse> {
        let lease = c.lease
        return BidiStream { producer, onResponse in
            try await lease.leaseKeepAlive(requestProducer: producer, onResponse: onResponse)
        }
    }

    // MARK: The scenario

    func run() async throws {
        let sections: [(Scenario) -> () async -> Void] = [
            { $0.kvSetup }, { $0.ranges }, { $0.puts }, { $0.deletes }, { $0.txns }, { $0.txnValidation },
            { $0.leases }, { $0.lockAndElection }, { $0.watches }, { $0.fragments }, { $0.compaction }, { $0.maintenance },
        ]
        for (index, section) in sections.enumerated() {
            if index > 0 { try await reconnect() }
            await section(self)()
            if index > 1 && index < sections.count - 1 { await status("after section \(index + 1)") }
        }
    }

    /// Status, whose raft index tells whether both servers put the same requests through the
    /// log so far; the version and db sizes are member-local.
    func status(_ label: String) async {
        await call("status \(label)", normalize: { (r: inout Etcdserverpb_StatusResponse) in
            r.version = "<VERSION>"
            r.dbSize = 0
            r.dbSizeInUse = 0
        }) { try await c.maintenance.status(Etcdserverpb_StatusRequest()) }
    }

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

    func txns() async {
        func txn(_ label: String, _ compares: [Etcdserverpb_Compare], success: [Etcdserverpb_RequestOp] = [],
                 failure: [Etcdserverpb_RequestOp] = []) async {
            var request = Etcdserverpb_TxnRequest()
            request.compare = compares
            request.success = success
            request.failure = failure
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
            var request = Etcdserverpb_TxnRequest()
            request.compare = compares
            request.success = success
            request.failure = failure
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

    func leases() async {
        await call("grant client-chosen 0x1234") { try await c.lease.leaseGrant(grantRequest(0x1234, 100)) }
        await call("timetolive right after grant") { try await c.lease.leaseTimeToLive(ttlRequest(0x1234, keys: false)) }
        await call("grant 0x1234 again") { try await c.lease.leaseGrant(grantRequest(0x1234, 100)) }
        await call("grant too large TTL") { try await c.lease.leaseGrant(grantRequest(0x1235, 9_000_000_001)) }
        await call("grant max TTL") { try await c.lease.leaseGrant(grantRequest(0x1236, 9_000_000_000)) }
        await call("grant TTL 1 (minimum)") { try await c.lease.leaseGrant(grantRequest(0x1237, 1)) }
        await call("grant TTL 0") { try await c.lease.leaseGrant(grantRequest(0x1238, 0)) }
        await call("grant TTL negative") { try await c.lease.leaseGrant(grantRequest(0x1239, -5)) }
        await call("grant negative ID") { try await c.lease.leaseGrant(grantRequest(-7, 100)) }
        // A server-chosen ID: member-local, only its shape is compared.
        var chosen: Int64 = 0
        await call("grant server-chosen", normalize: { (r: inout Etcdserverpb_LeaseGrantResponse) in
            chosen = r.id
            r.id = r.id >> 48 == 0x694d ? 1 : -1
        }) { try await c.lease.leaseGrant(grantRequest(0, 50)) }
        await call("revoke server-chosen", normalize: { _ in }) { try await c.lease.leaseRevoke(revokeRequest(chosen)) }
        for lease in [0x1236, 0x1237, 0x1238, 0x1239, -7] as [Int64] {
            await call("revoke \(lease)") { try await c.lease.leaseRevoke(revokeRequest(lease)) }
        }
        await call("put k1 with lease") { var r = putRequest("lease/k1", "1"); r.lease = 0x1234; return try await c.kv.put(r) }
        await call("put k2 with lease") { var r = putRequest("lease/k2", "2"); r.lease = 0x1234; r.prevKv = true; return try await c.kv.put(r) }
        await call("put k3 with lease") { var r = putRequest("lease/k3", "3"); r.lease = 0x1234; return try await c.kv.put(r) }
        await call("put k3 ignore_lease") { var r = putRequest("lease/k3", "3b"); r.ignoreLease = true; return try await c.kv.put(r) }
        await call("put k2 without lease (detaches)") { try await c.kv.put(putRequest("lease/k2", "2b")) }
        let keepAlive = keepAliveStream()
        keepAlive.send(keepAliveRequest(0x1234))
        await step("keepalive 0x1234", keepAlive)
        await call("timetolive with keys after keepalive", normalize: sortKeys) { try await c.lease.leaseTimeToLive(ttlRequest(0x1234, keys: true)) }
        keepAlive.send(keepAliveRequest(0x9999))
        await step("keepalive missing lease", keepAlive)
        keepAlive.send(keepAliveRequest(0x1234))
        keepAlive.send(keepAliveRequest(0x5001))
        await step("keepalive twice", keepAlive)
        await keepAlive.close()
        await call("timetolive missing lease") { try await c.lease.leaseTimeToLive(ttlRequest(0x9999, keys: true)) }
        await call("timetolive 0") { try await c.lease.leaseTimeToLive(ttlRequest(0, keys: false)) }
        await call("leases", normalize: { (r: inout Etcdserverpb_LeaseLeasesResponse) in
            // etcd lists them in map order; the order is not part of the contract.
            r.leases.sort { $0.id < $1.id }
        }) { try await c.lease.leaseLeases(Etcdserverpb_LeaseLeasesRequest()) }
        await call("range lease keys") { try await c.kv.range(rangeRequest("lease/", "lease0")) }
        await call("revoke 0x1234") { try await c.lease.leaseRevoke(revokeRequest(0x1234)) }
        await call("range lease keys after revoke") { try await c.kv.range(rangeRequest("lease/", "lease0")) }
        await call("revoke 0x1234 again") { try await c.lease.leaseRevoke(revokeRequest(0x1234)) }
        await call("revoke 0") { try await c.lease.leaseRevoke(revokeRequest(0)) }
        await call("put with revoked lease") { var r = putRequest("lease/k4", "4"); r.lease = 0x1234; return try await c.kv.put(r) }
        await call("timetolive revoked") { try await c.lease.leaseTimeToLive(ttlRequest(0x1234, keys: true)) }
    }

    /// etcd lists a lease's keys in Go map order; the order is not part of the contract.
    func sortKeys(_ response: inout Etcdserverpb_LeaseTimeToLiveResponse) {
        response.keys.sort { $0.lexicographicallyPrecedes($1) }
    }

    func lockAndElection() async {
        await call("grant 0x3000") { try await c.lease.leaseGrant(grantRequest(0x3000, 100)) }
        await call("lock") { var r = V3lockpb_LockRequest(); r.name = Data("mylock".utf8); r.lease = 0x3000; return try await c.lock.lock(r) }
        await call("lock again, same lease (reentrant)") { var r = V3lockpb_LockRequest(); r.name = Data("mylock".utf8); r.lease = 0x3000; return try await c.lock.lock(r) }
        await call("lock key") { try await c.kv.range(rangeRequest("mylock/", "mylock0")) }
        await call("unlock") { var r = V3lockpb_UnlockRequest(); r.key = Data("mylock/3000".utf8); return try await c.lock.unlock(r) }
        await call("unlock again") { var r = V3lockpb_UnlockRequest(); r.key = Data("mylock/3000".utf8); return try await c.lock.unlock(r) }
        await call("lock with missing lease") { var r = V3lockpb_LockRequest(); r.name = Data("mylock".utf8); r.lease = 0x4000; return try await c.lock.lock(r) }
        await call("leader, no campaign") { var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r) }
        await call("campaign") {
            var r = V3electionpb_CampaignRequest()
            r.name = Data("el".utf8); r.lease = 0x3000; r.value = Data("v1".utf8)
            return try await c.election.campaign(r)
        }
        await call("leader") { var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r) }
        let leader: V3electionpb_LeaderKey = {
            var key = V3electionpb_LeaderKey()
            key.name = Data("el".utf8); key.key = Data("el/3000".utf8); key.lease = 0x3000
            return key
        }()
        var current = leader
        await call("leader key revision", normalize: { (r: inout V3electionpb_LeaderResponse) in current.rev = r.kv.createRevision }) {
            var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r)
        }
        let owner = current
        await call("proclaim") { var r = V3electionpb_ProclaimRequest(); r.leader = owner; r.value = Data("v2".utf8); return try await c.election.proclaim(r) }
        await call("leader after proclaim") { var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r) }
        await call("proclaim with a wrong revision") {
            var r = V3electionpb_ProclaimRequest(); r.leader = leader; r.leader.rev = 1; r.value = Data("v3".utf8)
            return try await c.election.proclaim(r)
        }
        await call("campaign again with the same lease") {
            var r = V3electionpb_CampaignRequest()
            r.name = Data("el".utf8); r.lease = 0x3000; r.value = Data("v4".utf8)
            return try await c.election.campaign(r)
        }
        await call("resign") { var r = V3electionpb_ResignRequest(); r.leader = owner; return try await c.election.resign(r) }
        await call("leader after resign") { var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r) }
        await call("resign again") { var r = V3electionpb_ResignRequest(); r.leader = owner; return try await c.election.resign(r) }
        await call("proclaim without leader") { var r = V3electionpb_ProclaimRequest(); r.value = Data("x".utf8); return try await c.election.proclaim(r) }
        await call("resign without leader") { try await c.election.resign(V3electionpb_ResignRequest()) }
        await call("campaign with a missing lease") {
            var r = V3electionpb_CampaignRequest()
            r.name = Data("el2".utf8); r.lease = 0x4000; r.value = Data("v".utf8)
            return try await c.election.campaign(r)
        }
        await call("revoke 0x3000") { try await c.lease.leaseRevoke(revokeRequest(0x3000)) }
        // Without a lease, etcd's session recipe grants one (TTL 60): its ID is server-chosen
        // (normalised, and the lease revoked again so that later ranges and hashes compare).
        var sessionLeases: [Int64] = []
        await call("lock without lease", normalize: { (r: inout V3lockpb_LockResponse) in
            let text = String(decoding: r.key, as: UTF8.self)
            if let id = text.split(separator: "/").last.flatMap({ UInt64($0, radix: 16) }) { sessionLeases.append(Int64(bitPattern: id)) }
            r.key = Self.normalizeLeaseHex(r.key)
        }) {
            var r = V3lockpb_LockRequest(); r.name = Data("nolease".utf8); return try await c.lock.lock(r)
        }
        await call("lock key without lease", normalize: { (r: inout Etcdserverpb_RangeResponse) in
            for index in r.kvs.indices {
                r.kvs[index].key = Self.normalizeLeaseHex(r.kvs[index].key)
                r.kvs[index].lease = r.kvs[index].lease >> 48 == 0x694d ? 1 : r.kvs[index].lease
            }
        }) { try await c.kv.range(rangeRequest("nolease/", "nolease0")) }
        await call("campaign without lease", normalize: { (r: inout V3electionpb_CampaignResponse) in
            sessionLeases.append(r.leader.lease)
            r.leader.key = Self.normalizeLeaseHex(r.leader.key)
            r.leader.lease = r.leader.lease >> 48 == 0x694d ? 1 : r.leader.lease
        }) {
            var r = V3electionpb_CampaignRequest(); r.name = Data("el3".utf8); r.value = Data("v".utf8)
            return try await c.election.campaign(r)
        }
        for lease in sessionLeases {
            await call("revoke a session lease") { try await c.lease.leaseRevoke(revokeRequest(lease)) }
        }
        await call("session keys after revoke") { try await c.kv.range(rangeRequest("el3/", "el30")) }
    }

    /// A key `<name>/<lease hex>` whose lease the server chose: the hex part replaced.
    static func normalizeLeaseHex(_ key: Data) -> Data {
        let text = String(decoding: key, as: UTF8.self)
        guard let slash = text.lastIndex(of: "/"), text[text.index(after: slash)...].hasPrefix("694d") else { return key }
        return Data((text[...slash] + "<LEASE>").utf8)
    }

    func watches() async {
        await call("revision before watches") { try await c.kv.range(rangeRequest("a")) }
        let stream = watchStream()
        stream.send(watchCreate("w/a"))
        await watchStep("create auto id on w/a", stream)
        stream.send(watchCreate("w/", "w0", id: 7) { $0.prevKv = true })
        await watchStep("create id 7 prefix w/ prev_kv", stream)
        stream.send(watchCreate("w/b", id: 7))
        await watchStep("create duplicate id 7", stream)
        stream.send(watchCreate("w/", "w0"))
        await watchStep("create auto id after 7", stream)
        stream.send(watchCreate("w/", "w0") { $0.filters = [.noput] })
        await watchStep("create NOPUT", stream)
        stream.send(watchCreate("w/", "w0") { $0.filters = [.nodelete] })
        await watchStep("create NODELETE", stream)
        stream.send(watchCreate("w/b", "w/d") { $0.filters = [.noput, .nodelete] })
        await watchStep("create NOPUT+NODELETE", stream)
        var progress = Etcdserverpb_WatchRequest()
        progress.progressRequest = Etcdserverpb_WatchProgressRequest()
        stream.send(progress)
        await watchStep("progress request", stream)
        await call("w put a") { try await c.kv.put(putRequest("w/a", "1")) }
        await call("w put b") { try await c.kv.put(putRequest("w/b", "2")) }
        await call("w delete a") { try await c.kv.deleteRange(deleteRequest("w/a")) }
        await call("w txn") {
            var r = Etcdserverpb_TxnRequest()
            r.success = [putOp("w/c", "3"), deleteOp("w/b"), putOp("w/a", "4")]
            return try await c.kv.txn(r)
        }
        await watchStep("events", stream)
        var cancel = Etcdserverpb_WatchRequest()
        cancel.cancelRequest.watchID = 7
        stream.send(cancel)
        await watchStep("cancel 7", stream)
        cancel.cancelRequest.watchID = 99
        stream.send(cancel)
        await watchStep("cancel unknown 99", stream)
        await call("w put after cancel") { try await c.kv.put(putRequest("w/b", "5")) }
        await watchStep("events after cancel", stream)
        stream.send(progress)
        await watchStep("progress request again", stream)
        await stream.close()

        let current = await revision()
        // History and future start revisions, range and from-key watches, on a new stream.
        let history = watchStream()
        history.send(watchCreate("w/", "w0", start: current - 4) { $0.prevKv = true })
        await watchStep("history from current-4 with prev_kv", history)
        history.send(watchCreate("w/a", start: current - 4, id: 3))
        await watchStep("history of w/a, id 3", history)
        history.send(watchCreate("w/b", "\0", start: 2))
        await watchStep("from-key w/b, from revision 2", history)
        history.send(watchCreate("\0", "\0", start: current + 2))
        await watchStep("all keys, future revision", history)
        await call("w put (current+1)") { try await c.kv.put(putRequest("w/d", "6")) }
        await call("w put (current+2)") { try await c.kv.put(putRequest("w/e", "7")) }
        await call("w put (current+3)") { try await c.kv.put(putRequest("a", "8")) }
        await watchStep("events after history", history)
        history.send(watchCreate("", ""))
        await watchStep("create with empty key", history)
        history.send(watchCreate("w/", "w0", start: -3))
        await watchStep("create with negative start", history)
        await history.close()
    }

    func fragments() async {
        let stream = watchStream()
        stream.send(watchCreate("frag/", "frag0") { $0.fragment = true; $0.prevKv = true })
        stream.send(watchCreate("frag/", "frag0") { $0.prevKv = true })
        await watchStep("create fragment and non-fragment watches", stream)
        for index in 0..<12 {
            await call("frag put \(index)") {
                try await c.kv.put(putRequest("frag/\(index)", String(repeating: "\(index % 10)", count: 60_000)))
            }
        }
        await step("frag put events", stream, group: \.watchID, normalize: summarizeValues)
        // One revision with 12 events of 60 KB (prev_kv): over the limit, fragmented for watch 0.
        await call("frag delete all") { try await c.kv.deleteRange(deleteRequest("frag/", "frag0")) }
        await step("frag delete events (fragmented)", stream, group: \.watchID, normalize: summarizeValues)
        await stream.close()
    }

    /// Long values as their size and checksum, so that a transcript stays readable.
    func summarizeValues(_ response: inout Etcdserverpb_WatchResponse) {
        func summary(_ value: Data) -> Data {
            guard value.count > 100 else { return value }
            var hash: UInt64 = 0xcbf29ce484222325
            for byte in value { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
            return Data("<\(value.count) bytes, fnv \(String(hash, radix: 16))>".utf8)
        }
        for index in response.events.indices {
            response.events[index].kv.value = summary(response.events[index].kv.value)
            if response.events[index].hasPrevKv {
                response.events[index].prevKv.value = summary(response.events[index].prevKv.value)
            }
        }
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

    func maintenance() async {
        await status("at the end")
        await call("member list", normalize: { (r: inout Etcdserverpb_MemberListResponse) in
            for index in r.members.indices {
                r.members[index].clientUrls = r.members[index].clientUrls.map {
                    $0.replacingOccurrences(of: ":\(clientPort)", with: ":<CLIENT-PORT>")
                }
            }
        }) { try await c.cluster.memberList(Etcdserverpb_MemberListRequest()) }
        await call("hashkv") { try await c.maintenance.hashKV(Etcdserverpb_HashKVRequest()) }
    }

    func revision() async -> Int64 {
        (try? await c.kv.range(rangeRequest("a")).header.revision) ?? 0
    }
}

// MARK: - Request builders

private func bytes(_ text: String) -> Data { Data(text.utf8) }

private func rangeRequest(_ key: String, _ end: String? = nil, _ configure: (inout Etcdserverpb_RangeRequest) -> Void = { _ in }) -> Etcdserverpb_RangeRequest {
    var request = Etcdserverpb_RangeRequest()
    request.key = bytes(key)
    if let end { request.rangeEnd = bytes(end) }
    configure(&request)
    return request
}

private func putRequest(_ key: String, _ value: String) -> Etcdserverpb_PutRequest {
    var request = Etcdserverpb_PutRequest()
    request.key = bytes(key)
    request.value = bytes(value)
    return request
}

private func deleteRequest(_ key: String, _ end: String? = nil) -> Etcdserverpb_DeleteRangeRequest {
    var request = Etcdserverpb_DeleteRangeRequest()
    request.key = bytes(key)
    if let end { request.rangeEnd = bytes(end) }
    return request
}

private func compare(_ key: String, _ result: Etcdserverpb_Compare.CompareResult,
                     _ union: Etcdserverpb_Compare.OneOf_TargetUnion, end: String? = nil) -> Etcdserverpb_Compare {
    var compare = Etcdserverpb_Compare()
    compare.key = bytes(key)
    compare.result = result
    compare.targetUnion = union
    switch union {
    case .version: compare.target = .version
    case .createRevision: compare.target = .create
    case .modRevision: compare.target = .mod
    case .value: compare.target = .value
    case .lease: compare.target = .lease
    }
    if let end { compare.rangeEnd = bytes(end) }
    return compare
}

private func rangeOp(_ key: String, _ end: String? = nil, revision: Int64 = 0, countOnly: Bool = false) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestRange = rangeRequest(key, end) { $0.revision = revision; $0.countOnly = countOnly }
    return op
}

private func putOp(_ key: String, _ value: String, prevKV: Bool = false) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestPut = putRequest(key, value)
    op.requestPut.prevKv = prevKV
    return op
}

private func deleteOp(_ key: String, _ end: String? = nil, prevKV: Bool = false) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestDeleteRange = deleteRequest(key, end)
    op.requestDeleteRange.prevKv = prevKV
    return op
}

private func txnOp(_ compares: [Etcdserverpb_Compare], success: [Etcdserverpb_RequestOp] = [],
                   failure: [Etcdserverpb_RequestOp] = []) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestTxn.compare = compares
    op.requestTxn.success = success
    op.requestTxn.failure = failure
    return op
}

private func grantRequest(_ id: Int64, _ ttl: Int64) -> Etcdserverpb_LeaseGrantRequest {
    var request = Etcdserverpb_LeaseGrantRequest()
    request.id = id
    request.ttl = ttl
    return request
}

private func revokeRequest(_ id: Int64) -> Etcdserverpb_LeaseRevokeRequest {
    var request = Etcdserverpb_LeaseRevokeRequest()
    request.id = id
    return request
}

private func ttlRequest(_ id: Int64, keys: Bool) -> Etcdserverpb_LeaseTimeToLiveRequest {
    var request = Etcdserverpb_LeaseTimeToLiveRequest()
    request.id = id
    request.keys = keys
    return request
}

private func keepAliveRequest(_ id: Int64) -> Etcdserverpb_LeaseKeepAliveRequest {
    var request = Etcdserverpb_LeaseKeepAliveRequest()
    request.id = id
    return request
}

private func watchCreate(_ key: String, _ end: String? = nil, start: Int64 = 0, id: Int64 = 0,
                         _ configure: (inout Etcdserverpb_WatchCreateRequest) -> Void = { _ in }) -> Etcdserverpb_WatchRequest {
    var create = Etcdserverpb_WatchCreateRequest()
    create.key = bytes(key)
    if let end { create.rangeEnd = bytes(end) }
    create.startRevision = start
    create.watchID = id
    configure(&create)
    var request = Etcdserverpb_WatchRequest()
    request.createRequest = create
    return request
}
