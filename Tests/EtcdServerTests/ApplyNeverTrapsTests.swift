import EtcdProto
import Foundation
import Testing
@testable import EtcdServer
import TestLoad

/// A committed entry is applied again by every member at every restart, so an entry whose
/// apply traps stops the whole cluster for good. These requests did exactly that.
@Suite(.load(1, limit: .seconds(120))) struct ApplyNeverTrapsTests {
    /// `get a --limit=9223372036854775807` inside a txn with a put: the range asked MVCC for
    /// one key more than the limit and overflowed while applying the committed entry.
    @Test func aRangeWithTheLargestLimitInATxnAppliesAndReplays() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        var server = try await member.start()
        var txn = Etcdserverpb_TxnRequest()
        txn.success = [.put("x", "1"), .range("a", limit: .max)]
        let response = try await server.txn(txn)
        #expect(response.succeeded)
        guard case .responseRange(let range)? = response.responses.last?.response else {
            Issue.record("no range response in \(response)")
            server.stop()
            return
        }
        #expect(range.more == false)

        var standalone = Etcdserverpb_RangeRequest()
        standalone.key = Data("x".utf8)
        standalone.limit = .max
        #expect(try await server.range(standalone).kvs.map(\.value) == [Data("1".utf8)])
        server.stop()

        server = try await member.start()
        defer { server.stop() }
        #expect(try await server.localValues(of: "x") == [Data("1".utf8)])
    }

    /// etcd applies txns nested 50 and 100 levels deep. Wrapped in the log's request they
    /// passed SwiftProtobuf's default depth of 100, and every member stopped at apply.
    @Test(arguments: [50, 100])
    func deeplyNestedTxnsApplyAndReplay(depth: Int) async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        var server = try await member.start()
        let response = try await server.txn(.nested(depth: depth, innermost: [.put("deep", "\(depth)")]))
        #expect(response.succeeded)
        server.stop()

        server = try await member.start()
        defer { server.stop() }
        #expect(try await server.localValues(of: "deep") == [Data("\(depth)".utf8)])
    }

    /// Each level of nesting spends one of `--max-txn-ops`' operations, so with etcd's
    /// default of 128 a txn 250 levels deep is refused before it is proposed, as in etcd.
    @Test func nestingPastTheTxnOpsBudgetIsRefusedUpFront() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        let server = try await member.start()
        defer { server.stop() }
        await #expect(throws: EtcdError.tooManyOps) {
            _ = try await server.txn(.nested(depth: 250, innermost: [.put("deep", "250")]))
        }
    }

    /// A committed payload that does not decode is skipped alike by every member; the
    /// client that proposed it gets an error, and the member goes on serving.
    @Test func anEntryThatDoesNotDecodeIsAnsweredWithAnError() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        var server = try await member.start()
        let id = server.requestIDs.next()
        var header = Swetcdpb_RequestHeader()
        header.id = id
        let headerBytes: [UInt8] = try header.serializedBytes()
        // Field 1 (the header), then field 4 (a txn) whose body is a truncated varint.
        let payload: [UInt8] = [0x0a, UInt8(headerBytes.count)] + headerBytes + [0x22, 0x02, 0x08, 0xff]
        await #expect(throws: EtcdError.self) {
            _ = try await server.wait(for: id) { server.raft.inbox.add(.proposal(id: id, data: payload)) }
        }
        var put = Etcdserverpb_PutRequest()
        put.key = Data("after".utf8)
        _ = try await server.put(put)
        server.stop()

        server = try await member.start()
        defer { server.stop() }
        #expect(try await server.localValues(of: "after").count == 1)
    }

    @Test func theProposalIDIsFoundInAPayloadThatDoesNotDecode() throws {
        var header = Swetcdpb_RequestHeader()
        header.id = 0x1234_5678_9abc
        let headerBytes: [UInt8] = try header.serializedBytes()
        let payload: [UInt8] = [0x22, 0x01, 0xff, 0x0a, UInt8(headerBytes.count)] + headerBytes + [0x22, 0x02, 0x08, 0xff]
        #expect(LogEntryDecoding.requestID(in: payload) == 0x1234_5678_9abc)
        #expect(LogEntryDecoding.requestID(in: [0x0a, 0x7f]) == nil)
        #expect(LogEntryDecoding.requestID(in: [0xff, 0xff, 0xff]) == nil)
        #expect(LogEntryDecoding.requestID(in: []) == nil)
    }
}
