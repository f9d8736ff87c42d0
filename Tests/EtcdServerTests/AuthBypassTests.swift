import EtcdProto
import Foundation
import TestLoad
import Testing
@testable import EtcdServer

/// One test per way etcd's auth was bypassed before its 2026 fixes: a nested txn branch, a
/// put's or delete's previous value, a watch past its range, a lease's keys. Each request
/// would succeed without its check; each must be refused with etcd's error and change
/// nothing.
@Suite(.serialized, .load(1)) struct AuthBypassTests {
    private static let denied = EtcdError(kind: .permissionDenied)

    @Test func aNestedTxnCannotReachAForbiddenKeyInEitherBranch() async throws {
        let fixture = try await AuthFixture.start()
        defer { fixture.stop() }
        let forbidden = Etcdserverpb_TxnRequest.nested(depth: 3, innermost: [.put("/secret", "stolen")])
        await #expect(throws: Self.denied) { try await fixture.server.txn(forbidden, as: fixture.alice) }
        // In the branch that would not run: still refused, as etcd 3.6 checks both.
        var inFailure = Etcdserverpb_TxnRequest()
        inFailure.success = [.put("/app/ok", "1")]
        var nested = Etcdserverpb_RequestOp()
        nested.request = .requestTxn(.nested(depth: 2, innermost: [.put("/secret", "stolen")]))
        inFailure.failure = [nested]
        await #expect(throws: Self.denied) { try await fixture.server.txn(inFailure, as: fixture.alice) }
        // A read-only nested txn is checked too (it is served without the log).
        let read = Etcdserverpb_TxnRequest.nested(depth: 2, innermost: [.range("/secret")])
        await #expect(throws: Self.denied) { try await fixture.server.txn(read, as: fixture.alice) }
        // A compare on a forbidden key leaks whether it exists.
        var compare = Etcdserverpb_TxnRequest()
        compare.compare = [.versionIsZero("/secret")]
        compare.success = [.put("/app/ok", "1")]
        await #expect(throws: Self.denied) { try await fixture.server.txn(compare, as: fixture.alice) }
        #expect(try await fixture.value(of: "/secret") == "s")
        #expect(try await fixture.value(of: "/app/ok") == nil)
        // What alice may do still works.
        _ = try await fixture.server.txn(.nested(depth: 3, innermost: [.put("/app/x", "1")]), as: fixture.alice)
        #expect(try await fixture.value(of: "/app/x") == "1")
    }

    @Test func putAndDeleteReturnThePreviousValueOnlyToReaders() async throws {
        let fixture = try await AuthFixture.start()
        defer { fixture.stop() }
        _ = try await fixture.server.put(.key("w/k", "old"), as: fixture.root)
        // wally may write w/ but not read it: the previous value would be a read.
        await #expect(throws: Self.denied) { try await fixture.server.put(.key("w/k", "new", prevKV: true), as: fixture.wally) }
        var delete = Etcdserverpb_DeleteRangeRequest()
        delete.key = Data("w/k".utf8)
        delete.prevKv = true
        await #expect(throws: Self.denied) { try await fixture.server.deleteRange(delete, as: fixture.wally) }
        var txn = Etcdserverpb_TxnRequest()
        var op = Etcdserverpb_RequestOp()
        op.request = .requestPut(.key("w/k", "new", prevKV: true))
        txn.success = [op]
        await #expect(throws: Self.denied) { try await fixture.server.txn(txn, as: fixture.wally) }
        #expect(try await fixture.value(of: "w/k") == "old")
        // Without the previous value, the write is allowed.
        _ = try await fixture.server.put(.key("w/k", "new"), as: fixture.wally)
        delete.prevKv = false
        #expect(try await fixture.server.deleteRange(delete, as: fixture.wally).deleted == 1)
    }

    @Test func aWatchCannotReachPastItsRange() async throws {
        let fixture = try await AuthFixture.start()
        defer { fixture.stop() }
        let server = fixture.server
        #expect(await server.watchRefusal(key: Data("/app/".utf8), rangeEnd: Data("/app0".utf8), as: fixture.alice) == nil)
        #expect(await server.watchRefusal(key: Data("/app/x".utf8), rangeEnd: Data(), as: fixture.alice) == nil)
        let refusal = "rpc error: code = PermissionDenied desc = etcdserver: permission denied"
        #expect(await server.watchRefusal(key: Data("/app/".utf8), rangeEnd: Data("/b".utf8), as: fixture.alice) == refusal)
        #expect(await server.watchRefusal(key: Data("/app/".utf8), rangeEnd: Data([0]), as: fixture.alice) == refusal)
        #expect(await server.watchRefusal(key: Data(), rangeEnd: Data([0]), as: fixture.alice) == refusal)
        #expect(await server.watchRefusal(key: Data("/secret".utf8), rangeEnd: Data(), as: fixture.alice) == refusal)
        #expect(
            await server.watchRefusal(key: Data("/app/".utf8), rangeEnd: Data("/app0".utf8), as: .none)
                == "rpc error: code = InvalidArgument desc = etcdserver: user name is empty")
        #expect(
            await server.watchRefusal(key: Data("/app/".utf8), rangeEnd: Data("/app0".utf8), as: Credentials(token: "forged.1"))
                == "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token")
    }

    @Test func aLeaseOnlyServesThoseWhoMayWriteItsKeys() async throws {
        let fixture = try await AuthFixture.start()
        defer { fixture.stop() }
        let server = fixture.server
        var grant = Etcdserverpb_LeaseGrantRequest()
        grant.ttl = 600
        let lease = try await server.leaseGrant(grant, as: fixture.root).id
        _ = try await server.put(.key("/secret", "s", lease: lease), as: fixture.root)

        var revoke = Etcdserverpb_LeaseRevokeRequest()
        revoke.id = lease
        await #expect(throws: Self.denied) { try await server.leaseRevoke(revoke, as: fixture.alice) }
        await #expect(throws: Self.denied) { try await server.leaseKeepAlive(lease, as: fixture.alice) }
        var ttl = Etcdserverpb_LeaseTimeToLiveRequest()
        ttl.id = lease
        ttl.keys = true
        await #expect(throws: Self.denied) { try await server.leaseTimeToLiveFromLeader(ttl, as: fixture.alice) }
        await #expect(throws: Self.denied) { try await server.leaseLeases(as: fixture.alice) }
        // Putting one's own key on that lease would let its revocation delete /secret with it.
        await #expect(throws: Self.denied) { try await server.put(.key("/app/mine", "1", lease: lease), as: fixture.alice) }
        #expect(try await fixture.value(of: "/secret") == "s")
        #expect(try await fixture.value(of: "/app/mine") == nil)
        ttl.keys = false
        #expect(try await server.leaseTimeToLiveFromLeader(ttl, as: fixture.alice).ttl > 0)
        _ = try await server.leaseRevoke(revoke, as: fixture.root)
        #expect(try await fixture.value(of: "/secret") == nil)
    }

    @Test func theLeaseAKeyIsPutUnderNeedsNoMoreThanTheKey() async throws {
        let fixture = try await AuthFixture.start()
        defer { fixture.stop() }
        var grant = Etcdserverpb_LeaseGrantRequest()
        grant.ttl = 600
        let lease = try await fixture.server.leaseGrant(grant, as: fixture.alice).id
        _ = try await fixture.server.put(.key("/app/a", "1", lease: lease), as: fixture.alice)
        // Her own lease, with only her keys: she may keep it alive and revoke it.
        _ = try await fixture.server.leaseKeepAlive(lease, as: fixture.alice)
        var revoke = Etcdserverpb_LeaseRevokeRequest()
        revoke.id = lease
        _ = try await fixture.server.leaseRevoke(revoke, as: fixture.alice)
        #expect(try await fixture.value(of: "/app/a") == nil)
    }

    @Test func requestsWithoutAValidIdentityAreRefused() async throws {
        let fixture = try await AuthFixture.start()
        defer { fixture.stop() }
        var get = Etcdserverpb_RangeRequest()
        get.key = Data("/app/x".utf8)
        await #expect(throws: EtcdError(kind: .userEmpty)) { try await fixture.server.range(get, as: .none) }
        for token in ["forged", "forged.1", "forged.99999999", "", "a.b.c", fixture.alice.token! + "x"] where !token.isEmpty {
            await #expect(throws: EtcdError(kind: .invalidAuthToken)) { try await fixture.server.range(get, as: Credentials(token: token)) }
        }
        // A serializable read is checked as well.
        get.serializable = true
        await #expect(throws: EtcdError(kind: .userEmpty)) { try await fixture.server.range(get, as: .none) }
        // A certificate name counts only with --client-cert-auth.
        await #expect(throws: EtcdError(kind: .userEmpty)) {
            try await fixture.server.range(get, as: Credentials(certificateName: "root"))
        }
        var compact = Etcdserverpb_CompactionRequest()
        compact.revision = 1
        await #expect(throws: Self.denied) { try await fixture.server.compact(compact, as: fixture.alice) }
        await #expect(throws: EtcdError(kind: .userEmpty)) { try await fixture.server.requireAdmin(.none) }
        await #expect(throws: Self.denied) { try await fixture.server.requireAdmin(fixture.alice) }
    }
}

extension Etcdserverpb_Compare {
    static func versionIsZero(_ key: String) -> Self {
        var compare = Self()
        compare.key = Data(key.utf8)
        compare.target = .version
        compare.result = .equal
        compare.targetUnion = .version(0)
        return compare
    }
}
