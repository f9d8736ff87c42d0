import EtcdProto
import Foundation
import GRPCCore
import HarnessSupport
import Testing
import TestLoad

/// Lease expiry, and leases across a restart. How late a lease expires is printed, not
/// bounded (a loaded machine delays it; bounds belong in a benchmark); that it never expires
/// early is checked.
@Suite(.serialized, .load(1)) struct LeaseExpiryTests {
    /// A lease kept alive for a while, then left alone, expires (never before its TTL has
    /// passed since its last keep-alive), and its keys are deleted with it, in one revision.
    /// `--election-timeout 500` makes etcd's minimum TTL 1 s.
    @Test func leaseExpiresNotBeforeItsTTLAndTakesItsKeys() async throws {
        let server = try makeSwetcd("swetcd-lease-expiry", extraArguments: ["--election-timeout", "500"])
        defer {
            server.stop()
            server.removeFiles()
        }
        try server.startAndWait()
        let c = try ServiceClients(port: server.clientPort)

        var results: [String] = []
        for (id, ttl) in [(Int64(0x101), Int64(1)), (0x102, 2)] {
            var grant = Etcdserverpb_LeaseGrantRequest()
            grant.id = id
            grant.ttl = ttl
            let granted = try await c.lease.leaseGrant(grant)
            #expect(granted.ttl == ttl, "TTL \(ttl) is at least the minimum with --election-timeout 500")
            for key in ["exp/\(id)/a", "exp/\(id)/b", "exp/\(id)/c"] {
                var put = Etcdserverpb_PutRequest()
                put.key = Data(key.utf8)
                put.value = Data("v".utf8)
                put.lease = id
                _ = try await c.kv.put(put)
            }
            // A watch that reports when the keys go.
            let watch = c.watch
            let stream = BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse> { producer, onResponse in
                try await watch.watch(requestProducer: producer, onResponse: onResponse)
            }
            var create = Etcdserverpb_WatchRequest()
            create.createRequest.key = Data("exp/\(id)/".utf8)
            create.createRequest.rangeEnd = prefixEnd("exp/\(id)/")
            stream.send(create)
            try await waitUntil("the watch created", timeout: .seconds(30)) { stream.count >= 1 }

            // Kept alive for 2 TTLs (every TTL/3, like clientv3), then left alone.
            let lease = c.lease
            let keepAlive = BidiStream<Etcdserverpb_LeaseKeepAliveRequest, Etcdserverpb_LeaseKeepAliveResponse> { producer, onResponse in
                try await lease.leaseKeepAlive(requestProducer: producer, onResponse: onResponse)
            }
            var lastKeepAlive = Date()
            for _ in 0..<6 {
                var request = Etcdserverpb_LeaseKeepAliveRequest()
                request.id = id
                let before = keepAlive.count
                keepAlive.send(request)
                let deadline = ContinuousClock.now + .seconds(30)
                while keepAlive.count == before && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
                lastKeepAlive = Date()
                #expect(keepAlive.all.last?.ttl == ttl)
                try await Task.sleep(for: .milliseconds(Int(ttl * 1000 / 3)))
            }
            await keepAlive.close()

            // The keys' deletion, seen by the watch.
            let deadline = Date().addingTimeInterval(Double(ttl) + 30)
            var deletedAt: Date?
            while Date() < deadline {
                if stream.all.contains(where: { $0.events.contains { $0.type == .delete } }) {
                    deletedAt = Date()
                    break
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            guard let deletedAt else {
                Issue.record("lease \(id) (TTL \(ttl)) did not expire within TTL + 30 s of its last keep-alive")
                continue
            }
            let delay = deletedAt.timeIntervalSince(lastKeepAlive)
            results.append(String(format: "TTL %d s: keys deleted %.2f s after the last keep-alive", ttl, delay))
            #expect(delay >= Double(ttl) - 0.05, "lease \(id) expired before its TTL")

            let deletes = stream.all.filter { !$0.events.isEmpty }
            #expect(deletes.count == 1, "the keys are deleted in one revision")
            #expect(deletes.first?.events.count == 3)
            var range = Etcdserverpb_RangeRequest()
            range.key = Data("exp/\(id)/".utf8)
            range.rangeEnd = prefixEnd("exp/\(id)/")
            let remaining = try await c.kv.range(range).count
            #expect(remaining == 0, "keys of the expired lease are gone")
            var ttlRequest = Etcdserverpb_LeaseTimeToLiveRequest()
            ttlRequest.id = id
            let expiredTTL = try await c.lease.leaseTimeToLive(ttlRequest).ttl
            #expect(expiredTTL == -1)
            await stream.close()
        }
        print("lease expiry: " + results.joined(separator: "; "))
        await c.close()
    }

    /// Leases live through a restart with their keys; as in etcd, each gets its full TTL plus
    /// an election timeout from the restart (not the remainder from before), and still
    /// expires afterwards. A revoked lease stays revoked.
    @Test func leasesSurviveRestartWithFullTTLAndStillExpire() async throws {
        let server = try makeSwetcd("swetcd-lease-restart")
        defer {
            server.stop()
            server.removeFiles()
        }
        try server.startAndWait()
        var c = try ServiceClients(port: server.clientPort)
        func grant(_ id: Int64, _ ttl: Int64) async throws {
            var request = Etcdserverpb_LeaseGrantRequest()
            request.id = id
            request.ttl = ttl
            _ = try await c.lease.leaseGrant(request)
        }
        func put(_ key: String, lease: Int64) async throws {
            var request = Etcdserverpb_PutRequest()
            request.key = Data(key.utf8)
            request.value = Data("v".utf8)
            request.lease = lease
            _ = try await c.kv.put(request)
        }
        func timeToLive(_ id: Int64) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
            var request = Etcdserverpb_LeaseTimeToLiveRequest()
            request.id = id
            request.keys = true
            return try await c.lease.leaseTimeToLive(request)
        }
        func keys(_ prefix: String) async throws -> [String] {
            var request = Etcdserverpb_RangeRequest()
            request.key = Data(prefix.utf8)
            request.rangeEnd = prefixEnd(prefix)
            return try await c.kv.range(request).kvs.map { String(decoding: $0.key, as: UTF8.self) }
        }

        try await grant(0x201, 4)      // short: expires after the restart
        try await grant(0x202, 600)    // long: still there at the end
        try await grant(0x203, 600)    // revoked before the restart
        try await put("r/short/1", lease: 0x201)
        try await put("r/short/2", lease: 0x201)
        try await put("r/long/1", lease: 0x202)
        try await put("r/revoked/1", lease: 0x203)
        var revoke = Etcdserverpb_LeaseRevokeRequest()
        revoke.id = 0x203
        _ = try await c.lease.leaseRevoke(revoke)
        // Wait until 2 s of the 4 s TTL have passed.
        var before = try await timeToLive(0x201).ttl
        let countdown = ContinuousClock.now + .seconds(30)
        while before > 2 && ContinuousClock.now < countdown {
            try await Task.sleep(for: .milliseconds(100))
            before = try await timeToLive(0x201).ttl
        }
        #expect(before <= 2, "the TTL did not count down to 2 s")

        await c.close()
        server.stop()
        let restartedAt = Date()
        try server.startAndWait()
        let ready = Date()
        c = try ServiceClients(port: server.clientPort)

        let short = try await timeToLive(0x201)
        let long = try await timeToLive(0x202)
        let revoked = try await timeToLive(0x203)
        let leases = try await c.lease.leaseLeases(Etcdserverpb_LeaseLeasesRequest()).leases.map(\.id).sorted()
        // Full TTL + election timeout (1 s) from when it became leader, minus the start-up.
        #expect(short.ttl >= 3, "after a restart a lease gets its full TTL again (it had \(before) s left)")
        #expect(short.ttl <= 5, "at most the TTL plus an election timeout")
        #expect(short.grantedTtl == 4)
        #expect(short.keys.map { String(decoding: $0, as: UTF8.self) }.sorted() == ["r/short/1", "r/short/2"])
        #expect(long.ttl >= 599)
        #expect(revoked.ttl == -1)
        #expect(leases == [0x201, 0x202])
        let keysAfterRestart = try await keys("r/")
        #expect(keysAfterRestart == ["r/long/1", "r/short/1", "r/short/2"])

        // It still expires: 4 s + 1 s after the restart (not 2 s, what was left before).
        var expiredAt: Date?
        while Date().timeIntervalSince(ready) < 30 {
            if try await keys("r/short/").isEmpty {
                expiredAt = Date()
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let expiredAfter = expiredAt.map { $0.timeIntervalSince(restartedAt) }
        print(String(format: "lease restart: %d s left before the restart, TTL %d s right after it (ready %.2f s after the restart), "
            + "expired %.2f s after the restart (TTL 4 s + election timeout 1 s)",
                     before, short.ttl, ready.timeIntervalSince(restartedAt), expiredAfter ?? -1))
        #expect(expiredAt != nil, "the lease did not expire within 30 s of the restart")
        if let expiredAfter {
            #expect(expiredAfter >= 4.0, "expired before its full TTL after the restart")
        }
        let finalTTL = try await timeToLive(0x201).ttl
        #expect(finalTTL == -1)
        let finalKeys = try await keys("r/")
        #expect(finalKeys == ["r/long/1"])
        await c.close()
    }
}
