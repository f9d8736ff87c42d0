import EtcdClient
import Foundation
import Synchronization
import XCTest

/// Each service against one member.
final class ServiceTests: XCTestCase {
    func testKV() async throws {
        let cluster = try TestCluster.start(features: [.kv], test: name)
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }

        let first = try await client.kv.put("app/a", "1")
        try await client.kv.put("app/b", "2")
        let replaced = try await client.kv.put("app/a", "3", options: .init(prevKV: true))
        XCTAssertEqual(replaced.prevKV?.value, "1")
        XCTAssertEqual(replaced.header.revision, first.header.revision + 2)

        let all = try await client.kv.get(.prefix("app/"), options: .init(sortOrder: .descend, sortTarget: .key))
        XCTAssertEqual(all.kvs.map(\.key), ["app/b", "app/a"])
        XCTAssertEqual(all.kvs.last?.version, 2)
        let limited = try await client.kv.get(.prefix("app/"), options: .init(limit: 1))
        XCTAssertTrue(limited.more)
        XCTAssertEqual(limited.count, 2)
        let old = try await client.kv.get("app/a", options: .init(revision: first.header.revision))
        XCTAssertEqual(old.value, "1")
        let value1 = try await client.kv.get(.range("app/a", "app/b")).count
        XCTAssertEqual(value1, 1)
        let value2 = try await client.kv.get(.fromKey("app/b")).count
        XCTAssertEqual(value2, 1)

        let txn = try await client.kv.txn(
            if: [.value("app/a", .equal, "3"), .version("app/b", .greater, 0)],
            then: [.put("app/c", "4"), .get(.prefix("app/"), .init(countOnly: true))],
            else: [.delete(.prefix("app/"))])
        XCTAssertTrue(txn.succeeded)
        XCTAssertEqual(txn.responses.last?.get?.count, 3)

        let deleted = try await client.kv.delete(.prefix("app/"), prevKV: true)
        XCTAssertEqual(deleted.deleted, 3)
        XCTAssertEqual(deleted.prevKVs.count, 3)

        // Typed errors with etcd's messages.
        func expect(_ kind: EtcdError.Kind, _ body: () async throws -> Void) async {
            do {
                try await body()
                XCTFail("expected \(kind)")
            } catch let error as EtcdError {
                XCTAssertEqual(error.kind, kind)
                XCTAssertEqual(error.description, kind.rawValue)
            } catch {
                XCTFail("\(error)")
            }
        }
        let now = try await client.kv.get("x").header.revision
        await expect(.futureRevision) { _ = try await client.kv.get("x", options: .init(revision: now + 100)) }
        await expect(.emptyKey) { try await client.kv.put("", "v") }
        await expect(.keyNotFound) { try await client.kv.put("missing", "", options: .init(ignoreValue: true)) }
        try await client.kv.compact(now)
        await expect(.compacted) { _ = try await client.kv.get("x", options: .init(revision: now - 1)) }
        await expect(.duplicateKey) { _ = try await client.kv.txn(if: [], then: [.put("d", "1"), .put("d", "2")]) }
    }

    func testLease() async throws {
        let cluster = try TestCluster.start(features: [.kv, .lease], test: name)
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }

        let lease = try await client.lease.grant(ttl: 2)
        XCTAssertEqual(lease.ttl, 2)
        try await client.kv.put("leased", "v", options: .init(lease: lease.id))
        let info = try await client.lease.timeToLive(lease.id, keys: true)
        XCTAssertEqual(info.grantedTTL, 2)
        XCTAssertEqual(info.keys, ["leased"])
        let value3 = try await client.lease.leases().leases.contains(lease.id)
        XCTAssertTrue(value3)
        let value4 = try await client.lease.keepAliveOnce(lease.id).id
        XCTAssertEqual(value4, lease.id)

        // Kept alive past three TTLs, the key stays; cancelled, the lease runs out. The client
        // renews every TTL/3, as etcd's does, so nine renewals span three TTLs: waiting for
        // them (an event) rather than sleeping six seconds keeps the test honest under load.
        let renewals = Locked(0)
        let keeper = Task {
            for try await renewal in client.lease.keepAlive(lease.id) {
                XCTAssertEqual(renewal.ttl, 2)
                renewals.withLock { $0 += 1 }
            }
        }
        try await withDeadline(60, "nine keep-alive renewals") {
            while renewals.withLock({ $0 }) < 9 { try await Task.sleep(for: .milliseconds(50)) }
        }
        let value5 = try await client.kv.get("leased").value
        XCTAssertEqual(value5, "v")
        keeper.cancel()
        _ = await keeper.result
        try await withDeadline(10, "the lease to expire") {
            while try await client.kv.get("leased").count != 0 { try await Task.sleep(for: .milliseconds(200)) }
        }
        let value6 = try await client.lease.timeToLive(lease.id).ttl
        XCTAssertEqual(value6, -1)

        // Keep-alive of a revoked lease ends with leaseExpired.
        let second = try await client.lease.grant(ttl: 30)
        try await client.lease.revoke(second.id)
        do {
            for try await _ in client.lease.keepAlive(second.id) {}
            XCTFail("keep-alive of a revoked lease went on")
        } catch let error as EtcdError {
            XCTAssertEqual(error.kind, .leaseExpired)
        }
        do {
            try await client.lease.revoke(second.id)
            XCTFail("revoked twice")
        } catch let error as EtcdError {
            XCTAssertEqual(error.kind, .leaseNotFound)
        }
    }

    func testWatchEventsAndProgress() async throws {
        let cluster = try TestCluster.start(features: [.kv, .watch], test: name)
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        let start = try await client.kv.put("w/0", "0").header.revision
        try await client.kv.put("w/1", "1")
        try await client.kv.delete("w/0")
        let stream = client.watch.watch(.prefix("w/"), options: .init(startRevision: start, prevKV: true))
        var events: [WatchEvent] = []
        for try await response in stream {
            events += response.events
            if events.count >= 3 { break }
        }
        XCTAssertEqual(events.map(\.type), [.put, .put, .delete])
        XCTAssertEqual(events.last?.prevKV?.value, "0")

        // Progress notifications on request.
        let live = client.watch.watch("quiet", options: .init(createdNotify: true))
        var iterator = live.makeAsyncIterator()
        let created = try await iterator.next()
        XCTAssertEqual(created?.created, true)
        live.requestProgress()
        let progress = try await iterator.next()
        XCTAssertEqual(progress?.isProgressNotify, true)
    }

    func testClusterAndMaintenance() async throws {
        let cluster = try TestCluster.start(features: [.kv, .maintenance], test: name)
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        try await client.kv.put("a", "1")
        let members = try await client.cluster.memberList().members
        XCTAssertEqual(members.count, 1)
        XCTAssertEqual(members[0].clientURLs, ["http://\(cluster.endpoints[0])"])
        let status = try await client.maintenance.status(endpoint: cluster.endpoints[0])
        XCTAssertTrue(status.isLeader)
        XCTAssertEqual(status.header.memberID, members[0].id)
        let hash = try await client.maintenance.hashKV(endpoint: cluster.endpoints[0])
        XCTAssertEqual(hash.header.revision, 2)
        let value7 = try await client.maintenance.alarmList().alarms
        XCTAssertEqual(value7, [])
    }

    func testSnapshotAndDefragment() async throws {
        let cluster = try TestCluster.start(features: [.kv, .maintenance, .snapshot], test: name)
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        try await client.kv.put("a", "1")
        try await client.maintenance.defragment(endpoint: cluster.endpoints[0])
        let path = cluster.root.appendingPathComponent("snapshot.db").path
        let size = try await client.maintenance.saveSnapshot(to: path)
        XCTAssertGreaterThan(size, 0)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size)
    }

    func testAuthWithTokenRefresh() async throws {
        let cluster = try TestCluster.start(features: [.kv, .auth], test: name)
        defer { cluster.stop() }
        let admin = try cluster.client()
        try await admin.auth.userAdd("root", password: "rootpw")
        try await admin.auth.roleAdd("root")
        try await admin.auth.userGrantRole("root", role: "root")
        try await admin.auth.userAdd("app", password: "apppw")
        try await admin.auth.roleAdd("app")
        try await admin.auth.roleGrantPermission("app", Permission(type: .readwrite, key: "app/", rangeEnd: "app0"))
        try await admin.auth.userGrantRole("app", role: "app")
        try await admin.auth.authEnable()
        await admin.close()

        let anonymous = try cluster.client()
        do {
            _ = try await anonymous.kv.get("app/x")
            XCTFail("read without a user")
        } catch let error as EtcdError {
            XCTAssertEqual(error.kind, .userEmpty)
        }
        await anonymous.close()

        let app = try cluster.client { $0.credentials = .init(username: "app", password: "apppw") }
        try await app.kv.put("app/x", "1")
        do {
            try await app.kv.put("other", "1")
            XCTFail("write outside the permission")
        } catch let error as EtcdError {
            XCTAssertEqual(error.kind, .permissionDenied)
        }
        // Changing the auth store makes old tokens stale (simple tokens: invalid after the
        // auth revision moves): the client fetches a new one by itself.
        let root = try cluster.client { $0.credentials = .init(username: "root", password: "rootpw") }
        try await root.auth.userChangePassword("app", password: "apppw")
        let value8 = try await app.kv.get("app/x").value
        XCTAssertEqual(value8, "1")
        let value9 = try await root.auth.roleGet("app").permissions.first?.key
        XCTAssertEqual(value9, "app/")
        let users = try await root.auth.userList().users
        XCTAssertEqual(Set(users), ["root", "app"])
        try await root.auth.authDisable()
        await app.close()
        await root.close()

        let wrong = try cluster.client { $0.credentials = .init(username: "app", password: "nope") }
        do {
            try await wrong.authenticate()
        } catch let error as EtcdError {
            XCTAssertEqual(error.kind, .authNotEnabled)
        }
        await wrong.close()
    }

    func testServerSideLockAndElection() async throws {
        let cluster = try TestCluster.start(features: [.kv, .lease, .lock, .election], test: name)
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        let lease = try await client.lease.grant(ttl: 10)
        let key = try await client.lock.lock("svc-lock", lease: lease.id)
        XCTAssertTrue(key.string.hasPrefix("svc-lock/"))
        try await client.lock.unlock(key)

        let leadership = try await client.election.campaign("svc-election", lease: lease.id, value: "me")
        let value10 = try await client.election.leader("svc-election").value
        XCTAssertEqual(value10, "me")
        try await client.election.proclaim(leadership, value: "still me")
        let value11 = try await client.election.leader("svc-election").value
        XCTAssertEqual(value11, "still me")
        try await client.election.resign(leadership)
    }

    func testEtcdBytesAndKeyRanges() {
        XCTAssertEqual(EtcdBytes("a").prefixRangeEnd, "b")
        XCTAssertEqual(EtcdBytes([0x61, 0xff]).prefixRangeEnd, "b")
        XCTAssertEqual(EtcdBytes([0xff]).prefixRangeEnd, EtcdBytes([0]))
        XCTAssertEqual(KeyRange.prefix("").bounds.key, EtcdBytes([0]))
        XCTAssertEqual(KeyRange.fromKey("").bounds.rangeEnd, EtcdBytes([0]))
        XCTAssertEqual(LeaseID(0x694d_0000_0000_0001).hex, "694d000000000001")
        XCTAssertEqual(LeaseID(hex: "694d000000000001"), LeaseID(0x694d_0000_0000_0001))
        XCTAssertEqual(EtcdError(code: .outOfRange, message: "etcdserver: mvcc: required revision has been compacted").kind,
                       .compacted)
        XCTAssertEqual(EtcdError(code: .unimplemented, message: "nope").description,
                       "rpc error: code = Unimplemented desc = nope")
    }
}
