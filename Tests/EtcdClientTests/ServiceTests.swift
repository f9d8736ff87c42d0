import EtcdClient
import Foundation
import Synchronization
import TestLoad
import Testing

/// Each service against one member.
@Suite(.load(1)) struct ServiceTests {
    @Test func kv() async throws {
        let cluster = try TestCluster.start(features: [.kv], test: "ServiceTests-kv")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }

        let first = try await client.kv.put("app/a", "1")
        try await client.kv.put("app/b", "2")
        let replaced = try await client.kv.put("app/a", "3", options: .init(prevKV: true))
        #expect(replaced.prevKV?.value == "1")
        #expect(replaced.header.revision == first.header.revision + 2)

        let all = try await client.kv.get(.prefix("app/"), options: .init(sortOrder: .descend, sortTarget: .key))
        #expect(all.kvs.map(\.key) == ["app/b", "app/a"])
        #expect(all.kvs.last?.version == 2)
        let limited = try await client.kv.get(.prefix("app/"), options: .init(limit: 1))
        #expect(limited.more)
        #expect(limited.count == 2)
        let old = try await client.kv.get("app/a", options: .init(revision: first.header.revision))
        #expect(old.value == "1")
        let value1 = try await client.kv.get(.range("app/a", "app/b")).count
        #expect(value1 == 1)
        let value2 = try await client.kv.get(.fromKey("app/b")).count
        #expect(value2 == 1)

        let txn = try await client.kv.txn(
            if: [.value("app/a", .equal, "3"), .version("app/b", .greater, 0)],
            then: [.put("app/c", "4"), .get(.prefix("app/"), .init(countOnly: true))],
            else: [.delete(.prefix("app/"))])
        #expect(txn.succeeded)
        #expect(txn.responses.last?.get?.count == 3)

        let deleted = try await client.kv.delete(.prefix("app/"), prevKV: true)
        #expect(deleted.deleted == 3)
        #expect(deleted.prevKVs.count == 3)

        // Typed errors with etcd's messages.
        func expect(_ kind: EtcdError.Kind, _ body: () async throws -> Void) async {
            do {
                try await body()
                Issue.record(Comment(rawValue: "expected \(kind)"))
            } catch let error as EtcdError {
                #expect(error.kind == kind)
                #expect(error.description == kind.rawValue)
            } catch {
                Issue.record(Comment(rawValue: "\(error)"))
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

    @Test func lease() async throws {
        let cluster = try TestCluster.start(features: [.kv, .lease], test: "ServiceTests-lease")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }

        let lease = try await client.lease.grant(ttl: 2)
        #expect(lease.ttl == 2)
        try await client.kv.put("leased", "v", options: .init(lease: lease.id))
        let info = try await client.lease.timeToLive(lease.id, keys: true)
        #expect(info.grantedTTL == 2)
        #expect(info.keys == ["leased"])
        let value3 = try await client.lease.leases().leases.contains(lease.id)
        #expect(value3)
        let value4 = try await client.lease.keepAliveOnce(lease.id).id
        #expect(value4 == lease.id)

        // Kept alive past three TTLs, the key stays; cancelled, the lease runs out. The client
        // renews every TTL/3, as etcd's does, so nine renewals span three TTLs: waiting for
        // them (an event) rather than sleeping six seconds keeps the test honest under load.
        let renewals = Locked(0)
        let keeper = Task {
            for try await renewal in client.lease.keepAlive(lease.id) {
                #expect(renewal.ttl == 2)
                renewals.withLock { $0 += 1 }
            }
        }
        try await withDeadline(60, "nine keep-alive renewals") {
            while renewals.withLock({ $0 }) < 9 { try await Task.sleep(for: .milliseconds(50)) }
        }
        let value5 = try await client.kv.get("leased").value
        #expect(value5 == "v")
        keeper.cancel()
        _ = await keeper.result
        try await withDeadline(10, "the lease to expire") {
            while try await client.kv.get("leased").count != 0 { try await Task.sleep(for: .milliseconds(200)) }
        }
        let value6 = try await client.lease.timeToLive(lease.id).ttl
        #expect(value6 == -1)

        // Keep-alive of a revoked lease ends with leaseExpired.
        let second = try await client.lease.grant(ttl: 30)
        try await client.lease.revoke(second.id)
        do {
            for try await _ in client.lease.keepAlive(second.id) {}
            Issue.record(Comment(rawValue: "keep-alive of a revoked lease went on"))
        } catch let error as EtcdError {
            #expect(error.kind == .leaseExpired)
        }
        do {
            try await client.lease.revoke(second.id)
            Issue.record(Comment(rawValue: "revoked twice"))
        } catch let error as EtcdError {
            #expect(error.kind == .leaseNotFound)
        }
    }

    @Test func watchEventsAndProgress() async throws {
        let cluster = try TestCluster.start(features: [.kv, .watch], test: "ServiceTests-watchEventsAndProgress")
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
        #expect(events.map(\.type) == [.put, .put, .delete])
        #expect(events.last?.prevKV?.value == "0")

        // Progress notifications on request.
        let live = client.watch.watch("quiet", options: .init(createdNotify: true))
        var iterator = live.makeAsyncIterator()
        let created = try await iterator.next()
        #expect(created?.created == true)
        live.requestProgress()
        let progress = try await iterator.next()
        #expect(progress?.isProgressNotify == true)
    }

    @Test func clusterAndMaintenance() async throws {
        let cluster = try TestCluster.start(features: [.kv, .maintenance], test: "ServiceTests-clusterAndMaintenance")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        try await client.kv.put("a", "1")
        let members = try await client.cluster.memberList().members
        #expect(members.count == 1)
        #expect(members[0].clientURLs == ["http://\(cluster.endpoints[0])"])
        let status = try await client.maintenance.status(endpoint: cluster.endpoints[0])
        #expect(status.isLeader)
        #expect(status.header.memberID == members[0].id)
        let hash = try await client.maintenance.hashKV(endpoint: cluster.endpoints[0])
        #expect(hash.header.revision == 2)
        let value7 = try await client.maintenance.alarmList().alarms
        #expect(value7 == [])
    }

    @Test func snapshotAndDefragment() async throws {
        let cluster = try TestCluster.start(features: [.kv, .maintenance, .snapshot], test: "ServiceTests-snapshotAndDefragment")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        try await client.kv.put("a", "1")
        try await client.maintenance.defragment(endpoint: cluster.endpoints[0])
        let path = cluster.root.appendingPathComponent("snapshot.db").path
        let size = try await client.maintenance.saveSnapshot(to: path)
        #expect(size > 0)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == size)
    }

    @Test func authWithTokenRefresh() async throws {
        let cluster = try TestCluster.start(features: [.kv, .auth], test: "ServiceTests-authWithTokenRefresh")
        defer { cluster.stop() }
        try await Self.enableAuth(on: cluster)

        let anonymous = try cluster.client()
        do {
            _ = try await anonymous.kv.get("app/x")
            Issue.record(Comment(rawValue: "read without a user"))
        } catch let error as EtcdError {
            #expect(error.kind == .userEmpty)
        }
        await anonymous.close()

        let app = try cluster.client { $0.credentials = .init(username: "app", password: "apppw") }
        try await app.kv.put("app/x", "1")
        do {
            try await app.kv.put("other", "1")
            Issue.record(Comment(rawValue: "write outside the permission"))
        } catch let error as EtcdError {
            #expect(error.kind == .permissionDenied)
        }
        // Changing the auth store makes old tokens stale (simple tokens: invalid after the
        // auth revision moves): the client fetches a new one by itself.
        let root = try cluster.client { $0.credentials = .init(username: "root", password: "rootpw") }
        try await root.auth.userChangePassword("app", password: "apppw")
        let value8 = try await app.kv.get("app/x").value
        #expect(value8 == "1")
        let value9 = try await root.auth.roleGet("app").permissions.first?.key
        #expect(value9 == "app/")
        let users = try await root.auth.userList().users
        #expect(Set(users) == ["root", "app"])
        try await root.auth.authDisable()
        await app.close()
        await root.close()

        let wrong = try cluster.client { $0.credentials = .init(username: "app", password: "nope") }
        do {
            try await wrong.authenticate()
        } catch let error as EtcdError {
            #expect(error.kind == .authNotEnabled)
        }
        await wrong.close()
    }

    /// A simple token expires after `--auth-token-ttl` unused; the client fetches a new one
    /// and retries, so the caller never sees `invalid auth token`.
    @Test func anExpiredTokenIsRefreshed() async throws {
        let cluster = try TestCluster.start(
            features: [.kv, .auth], test: "ServiceTests-anExpiredTokenIsRefreshed", extraArguments: ["--auth-token-ttl", "1"])
        defer { cluster.stop() }
        let admin = try cluster.client()
        try await admin.auth.userAdd("root", password: "rootpw")
        try await admin.auth.userGrantRole("root", role: "root")
        try await admin.auth.authEnable()
        await admin.close()
        let root = try cluster.client { $0.credentials = .init(username: "root", password: "rootpw") }
        defer { Task { await root.close() } }
        try await root.kv.put("k", "1")
        // Not a race: the wait only makes sure the one-second token has expired.
        try await Task.sleep(for: .milliseconds(2500))
        #expect(try await root.kv.get("k").value == "1")
    }

    @Test func serverSideLockAndElection() async throws {
        let cluster = try TestCluster.start(features: [.kv, .lease, .lock, .election], test: "ServiceTests-serverSideLockAndElection")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        let lease = try await client.lease.grant(ttl: 10)
        let key = try await client.lock.lock("svc-lock", lease: lease.id)
        #expect(key.string.hasPrefix("svc-lock/"))
        try await client.lock.unlock(key)

        let leadership = try await client.election.campaign("svc-election", lease: lease.id, value: "me")
        let value10 = try await client.election.leader("svc-election").value
        #expect(value10 == "me")
        try await client.election.proclaim(leadership, value: "still me")
        let value11 = try await client.election.leader("svc-election").value
        #expect(value11 == "still me")
        try await client.election.resign(leadership)
    }

    /// Locks and elections run with the caller's own permissions, as etcd's do (they are
    /// clients of the server carrying the caller's token): only under keys it may write.
    @Test func lockAndElectionUnderAuthUseTheCallersPermissions() async throws {
        let cluster = try TestCluster.start(
            features: [.kv, .lease, .lock, .election, .auth], test: "ServiceTests-lockAndElectionUnderAuth",
            extraArguments: ["--bcrypt-cost", "4"])
        defer { cluster.stop() }
        try await Self.enableAuth(on: cluster)
        let app = try cluster.client { $0.credentials = .init(username: "app", password: "apppw") }
        defer { Task { await app.close() } }
        let lease = try await app.lease.grant(ttl: 30)
        let key = try await app.lock.lock("app/lock", lease: lease.id)
        try await app.lock.unlock(key)
        for attempt in ["elsewhere", "app0"] {
            do {
                _ = try await app.lock.lock(EtcdBytes(attempt), lease: lease.id)
                Issue.record("locked \(attempt) without write access")
            } catch let error as EtcdError {
                #expect(error.message == "etcdserver: permission denied")
            }
            do {
                _ = try await app.election.campaign(EtcdBytes(attempt), lease: lease.id, value: "me")
                Issue.record("campaigned on \(attempt) without write access")
            } catch let error as EtcdError {
                #expect(error.message == "etcdserver: permission denied")
            }
        }
    }

    /// Users `root` (password rootpw) and `app` (apppw, read-write on `app/`), auth enabled.
    private static func enableAuth(on cluster: TestCluster) async throws {
        let admin = try cluster.client()
        defer { Task { await admin.close() } }
        try await admin.auth.userAdd("root", password: "rootpw")
        try await admin.auth.roleAdd("root")
        try await admin.auth.userGrantRole("root", role: "root")
        try await admin.auth.userAdd("app", password: "apppw")
        try await admin.auth.roleAdd("app")
        try await admin.auth.roleGrantPermission("app", Permission(type: .readwrite, key: "app/", rangeEnd: "app0"))
        try await admin.auth.userGrantRole("app", role: "app")
        try await admin.auth.authEnable()
    }

    @Test func etcdBytesAndKeyRanges() {
        #expect(EtcdBytes("a").prefixRangeEnd == "b")
        #expect(EtcdBytes([0x61, 0xff]).prefixRangeEnd == "b")
        #expect(EtcdBytes([0xff]).prefixRangeEnd == EtcdBytes([0]))
        #expect(KeyRange.prefix("").bounds.key == EtcdBytes([0]))
        #expect(KeyRange.fromKey("").bounds.rangeEnd == EtcdBytes([0]))
        #expect(LeaseID(0x694d_0000_0000_0001).hex == "694d000000000001")
        #expect(LeaseID(hex: "694d000000000001") == LeaseID(0x694d_0000_0000_0001))
        #expect(EtcdError(code: .outOfRange, message: "etcdserver: mvcc: required revision has been compacted").kind == .compacted)
        #expect(EtcdError(code: .unimplemented, message: "nope").description == "rpc error: code = Unimplemented desc = nope")
    }
}
