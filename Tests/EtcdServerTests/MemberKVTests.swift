import EtcdProto
import Foundation
import Testing
@testable import EtcdServer
import TestLoad

/// The member's KV API in-process: what etcd's KV service answers, revision by revision, and
/// that all of it is there again after a restart replays the log.
@Suite(.load(1, limit: .seconds(120))) struct MemberKVTests {
    @Test func putRangeDeleteKeepRevisionsAndPreviousValues() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        let server = try await member.start()
        defer { server.stop() }
        let start = server.header().revision

        let first = try await server.put(.with { $0.key = Data("k".utf8); $0.value = Data("1".utf8) })
        #expect(first.header.revision == start + 1)
        #expect(first.header.memberID == server.memberID && first.header.clusterID == server.clusterID)
        let second = try await server.put(.with { $0.key = Data("k".utf8); $0.value = Data("2".utf8); $0.prevKv = true })
        #expect(second.prevKv.value == Data("1".utf8))
        #expect(second.header.revision == start + 2)

        let got = try await server.range(.with { $0.key = Data("k".utf8) })
        #expect(got.kvs.map(\.value) == [Data("2".utf8)])
        #expect(got.kvs.first?.createRevision == start + 1)
        #expect(got.kvs.first?.modRevision == start + 2)
        #expect(got.kvs.first?.version == 2)
        let old = try await server.range(.with { $0.key = Data("k".utf8); $0.revision = start + 1 })
        #expect(old.kvs.map(\.value) == [Data("1".utf8)])

        let deleted = try await server.deleteRange(.with { $0.key = Data("k".utf8); $0.prevKv = true })
        #expect(deleted.deleted == 1)
        #expect(deleted.prevKvs.map(\.value) == [Data("2".utf8)])
        #expect(try await server.range(.with { $0.key = Data("k".utf8) }).count == 0)
        let none = try await server.deleteRange(.with { $0.key = Data("k".utf8) })
        #expect(none.deleted == 0)
        #expect(none.header.revision == start + 3, "deleting nothing makes no revision")
    }

    @Test func txnComparesThenRunsOneBranchInOneRevision() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        let server = try await member.start()
        defer { server.stop() }
        _ = try await server.put(.with { $0.key = Data("a".utf8); $0.value = Data("1".utf8) })
        let before = server.header().revision

        var compare = Etcdserverpb_Compare()
        compare.key = Data("a".utf8)
        compare.target = .value
        compare.result = .equal
        compare.value = Data("1".utf8)
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [compare]
        txn.success = [.put("b", "x"), .put("c", "y"), .range("a")]
        txn.failure = [.put("failed", "!")]
        let taken = try await server.txn(txn)
        #expect(taken.succeeded)
        #expect(taken.header.revision == before + 1, "both puts share one revision")
        #expect(try await server.localValues(of: "failed").isEmpty)

        compare.value = Data("2".utf8)
        txn.compare = [compare]
        let other = try await server.txn(txn)
        #expect(!other.succeeded)
        #expect(try await server.localValues(of: "failed") == [Data("!".utf8)])

        var duplicate = Etcdserverpb_TxnRequest()
        duplicate.success = [.put("d", "1"), .put("d", "2")]
        await #expect(throws: EtcdError.duplicateKey) { try await server.txn(duplicate) }
    }

    @Test func aRestartReplaysToTheSameStore() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        var server = try await member.start()
        for index in 0..<50 {
            _ = try await server.put(.with { $0.key = Data("key-\(index % 10)".utf8); $0.value = Data("\(index)".utf8) })
        }
        _ = try await server.deleteRange(.with { $0.key = Data("key-0".utf8) })
        let revision = server.header().revision
        let hash = try server.hashKV(revision: 0).hash
        server.stop()

        server = try await member.start()
        defer { server.stop() }
        #expect(server.header().revision == revision)
        #expect(try server.hashKV(revision: 0).hash == hash)
        #expect(try await server.localValues(of: "key-9") == [Data("49".utf8)])
        #expect(try await server.localValues(of: "key-0").isEmpty)
    }

    @Test func compactionForgetsOldRevisionsAndSaysSo() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        let server = try await member.start()
        defer { server.stop() }
        let first = try await server.put(.with { $0.key = Data("k".utf8); $0.value = Data("1".utf8) }).header.revision
        let second = try await server.put(.with { $0.key = Data("k".utf8); $0.value = Data("2".utf8) }).header.revision
        _ = try await server.compact(.with { $0.revision = second })
        await #expect(throws: EtcdError.compacted) {
            try await server.range(.with { $0.key = Data("k".utf8); $0.revision = first })
        }
        #expect(try await server.localValues(of: "k") == [Data("2".utf8)])
    }
}
