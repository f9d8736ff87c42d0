import EtcdClient
import Foundation
import HarnessSupport
import Synchronization
import Testing
import TestLoad

/// Endpoints and members failing under a client: failover, a watch across a restart.
@Suite(.serialized, .load(3)) struct FailoverTests {
    /// A three-member cluster; the client's first endpoint is killed: reads go on on the next
    /// endpoint, writes go on (a write in flight at the kill may fail, never hang). How long
    /// the failover took is printed; bounding it is a benchmark's job.
    @Test func failoverWhenAMemberIsKilled() async throws {
        let cluster = try TestCluster.start(size: 3, features: [.kv, .cluster], test: "failoverWhenAMemberIsKilled")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }

        for index in 0..<10 { try await client.kv.put(EtcdBytes("k\(index)"), EtcdBytes("v\(index)")) }
        let before = try await client.kv.get(.prefix("k"))
        #expect(before.count == 10)

        // The client talks to the first endpoint: kill that member.
        cluster.members[0].kill()
        let clock = ContinuousClock()
        let start = clock.now
        let after = try await withDeadline(30, "read after the kill") {
            try await client.kv.get(.prefix("k"), options: .init(sortOrder: .ascend))
        }
        #expect(after.kvs.map(\.value.string) == (0..<10).map { "v\($0)" }.sorted())
        print("failover: read from the next endpoint \(clock.now - start) after the kill")

        // Writes keep working (after an election, if the leader was killed).
        var written = 0
        let writeDeadline = clock.now + .seconds(20)
        while written < 10 && clock.now < writeDeadline {
            do {
                try await client.kv.put(EtcdBytes("after\(written)"), "x", timeout: .seconds(3))
                written += 1
            } catch let error as EtcdError {
                // Only transient answers are acceptable while the cluster recovers.
                #expect(error.code == .unavailable || error.kind == .deadlineExceeded, "unexpected \(error)")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(written == 10)
        let count = try await client.kv.get(.prefix("after"), options: .init(countOnly: true)).count
        #expect(count == 10)

        // The member list still shows three members; two answer status.
        let members = try await client.cluster.memberList().members
        #expect(members.count == 3)
        var answering = 0
        for endpoint in cluster.endpoints {
            if (try? await client.maintenance.status(endpoint: endpoint, timeout: .seconds(2))) != nil { answering += 1 }
        }
        #expect(answering == 2)
    }

    /// A dead endpoint first in the list is skipped (after the dial timeout; the time is printed).
    @Test func deadFirstEndpointIsSkipped() async throws {
        let cluster = try TestCluster.start(features: [.kv], test: "deadFirstEndpointIsSkipped")
        defer { cluster.stop() }
        let dead = try Ports.free(1)[0]
        var config = EtcdClient.Configuration(endpoints: ["127.0.0.1:\(dead)"] + cluster.endpoints)
        config.dialTimeout = .milliseconds(500)
        let client = try EtcdClient(configuration: config)
        defer { Task { await client.close() } }
        let clock = ContinuousClock()
        let start = clock.now
        let value1 = try await withDeadline(30, "a put and a get past the dead endpoint") {
            try await client.kv.put("a", "1")
            return try await client.kv.get("a").value
        }
        #expect(value1 == "1")
        print("dead first endpoint: put and get done \(clock.now - start) after the first call")
    }

    /// No endpoint answers: requests fail with deadlineExceeded after the request timeout,
    /// they do not hang.
    @Test func unreachableEndpointsTimeOut() async throws {
        let ports = try Ports.free(2)
        var config = EtcdClient.Configuration(endpoints: ports.map { "127.0.0.1:\($0)" })
        config.requestTimeout = .seconds(1)
        config.dialTimeout = .milliseconds(200)
        let client = try EtcdClient(configuration: config)
        defer { Task { await client.close() } }
        let outcome = try await withDeadline(30, "the read from nowhere to fail") { () async -> Result<EtcdBytes?, any Error> in
            do { return .success(try await client.kv.get("a").value) } catch { return .failure(error) }
        }
        switch outcome {
        case .success: Issue.record("a read from nowhere succeeded")
        case .failure(let error):
            let etcdError = try #require(error as? EtcdError, "\(error)")
            #expect(etcdError.kind == .deadlineExceeded)
            #expect(etcdError.description == "context deadline exceeded")
        }
    }

    /// A watch over a server crash and restart: every event exactly once, in order.
    @Test func watchSurvivesServerRestart() async throws {
        let cluster = try TestCluster.start(features: [.kv, .watch], test: "watchSurvivesServerRestart")
        defer { cluster.stop() }
        let client = try cluster.client(requestTimeout: .seconds(3))
        defer { Task { await client.close() } }

        let startRevision = try await client.kv.put("marker", "0").header.revision + 1
        let total = 60
        let seen = Locked<[(key: String, revision: Int64)]>([])
        let watcher = Task {
            for try await response in client.watch.watch(.prefix("w/"), options: .init(startRevision: startRevision)) {
                let done = seen.withLock { list -> Bool in
                    for event in response.events { list.append((event.kv.key.string, event.kv.modRevision)) }
                    return list.count >= total
                }
                if done { return }
            }
        }

        /// Creates w/<n> once: a retry after an answer lost in the restart does not write again.
        func create(_ index: Int) async throws {
            let key = EtcdBytes(String(format: "w/%03d", index))
            let deadline = ContinuousClock.now + .seconds(30)
            while true {
                do {
                    _ = try await client.kv.txn(if: [.version(.key(key), .equal, 0)], then: [.put(key, "v")])
                    return
                } catch let error as EtcdError where ContinuousClock.now < deadline
                    && (error.code == .unavailable || error.kind == .deadlineExceeded)
                {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }

        for index in 0..<total / 2 { try await create(index) }
        // The watch is live and caught up when the server goes down...
        try await withDeadline(15, "the first half of the events") {
            while seen.withLock({ $0.count }) < total / 2 { try await Task.sleep(for: .milliseconds(20)) }
        }
        // ...and writes go on while it is down and comes back (they wait for it).
        let writer = Task { for index in total / 2..<total { try await create(index) } }
        try await withDeadline(15, "the first write of the second half") {
            while seen.withLock({ $0.count }) <= total / 2 { try await Task.sleep(for: .milliseconds(5)) }
        }
        cluster.members[0].kill()
        try cluster.members[0].start()
        try cluster.members[0].waitReady()
        try await withDeadline(40, "the writes after the restart") { try await writer.value }

        try await withDeadline(30, "the watch to deliver every event") { try await watcher.value }
        let events = seen.withLock { $0 }
        #expect(events.map(\.key) == (0..<total).map { String(format: "w/%03d", $0) }, "lost, repeated or reordered events")
        let revisions = events.map(\.revision)
        #expect(revisions == revisions.sorted())
        #expect(Set(revisions).count == revisions.count, "an event was delivered twice")
    }

    /// A watch from a compacted revision ends with the server's canceled response and a
    /// `compacted` error carrying the compact revision.
    @Test func watchSurfacesCompaction() async throws {
        let cluster = try TestCluster.start(features: [.kv, .watch], test: "watchSurfacesCompaction")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        for index in 0..<5 { try await client.kv.put("c", EtcdBytes("\(index)")) }
        let revision = try await client.kv.get("c").header.revision
        try await client.kv.compact(revision)
        var canceled = false
        do {
            for try await response in client.watch.watch("c", options: .init(startRevision: 2)) {
                canceled = response.canceled
                #expect(response.compactRevision == revision)
            }
            Issue.record("the watch ended without an error")
        } catch let error as EtcdError {
            #expect(error.kind == .compacted)
            #expect(error.compactRevision == revision)
            #expect(error.description == "etcdserver: mvcc: required revision has been compacted")
        }
        #expect(canceled)
    }
}
