import EtcdProto
import Foundation
import HarnessSupport
import Synchronization
import Testing
import TestLoad

/// Multi-member swetcd clusters on loopback: bootstrap, failover under load, membership
/// changes, whole-cluster restarts and snapshot catch-up (issue 5's acceptance).
@Suite(.serialized, .load(3)) struct ClusterTests {
    /// Writes to the cluster until stopped, remembering what was acknowledged.
    final class Writer: Sendable {
        private let acknowledged = Mutex<[String: (value: String, revision: Int64)]>([:])
        private let failures = Atomic(0)

        var writes: [String: (value: String, revision: Int64)] { acknowledged.withLock { $0 } }
        var failed: Int { failures.load(ordering: .relaxed) }

        var count: Int { acknowledged.withLock { $0.count } }

        /// Waits until `count` writes are acknowledged in all (bounded by `timeout`).
        func waitForWrites(_ count: Int, timeout: Duration = .seconds(60)) async throws {
            let deadline = ContinuousClock.now + timeout
            while self.count < count {
                guard ContinuousClock.now < deadline else {
                    Issue.record("only \(self.count) of \(count) writes acknowledged after \(timeout)")
                    return
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        /// `count` concurrent writers spread over the members' clients until the task is cancelled.
        func run(clients: [EtcdTestClient], prefix: String, count: Int = 8) async {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<count {
                    group.addTask {
                        var sequence = 0
                        while !Task.isCancelled {
                            let client = clients[(writer + sequence) % clients.count]
                            let key = "\(prefix)/\(writer)/\(sequence)"
                            let value = "v\(sequence)"
                            sequence += 1
                            do {
                                let response = try await client.put(key, value)
                                self.acknowledged.withLock { $0[key] = (value, response.header.revision) }
                            } catch {
                                self.failures.add(1, ordering: .relaxed)
                                try? await Task.sleep(for: .milliseconds(20))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every acknowledged write is on member `name`, at its revision.
    func verify(_ writes: [String: (value: String, revision: Int64)], on name: String, cluster: TestCluster, prefix: String) async throws {
        let client = try cluster.client(name)
        defer { Task { await client.close() } }
        let stored = try await client.get("\(prefix)/", rangeEnd: "\(prefix)0")
        var byKey: [String: Mvccpb_KeyValue] = [:]
        for kv in stored.kvs { byKey[String(decoding: kv.key, as: UTF8.self)] = kv }
        for (key, write) in writes {
            guard let kv = byKey[key] else {
                Issue.record("\(name): acknowledged write \(key)@\(write.revision) is lost")
                continue
            }
            #expect(kv.modRevision == write.revision, "\(name): \(key) has the wrong revision")
        }
    }

    /// All members reach the same revision and hash equally there.
    func expectConverged(_ cluster: TestCluster, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        var revisions: [String: Int64] = [:]
        while ContinuousClock.now < deadline {
            revisions = [:]
            for member in cluster.members where cluster.isRunning(member.name) {
                revisions[member.name] = try? await cluster.status(member.name).header.revision
            }
            if Set(revisions.values).count == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard let revision = revisions.values.min() else {
            Issue.record("no member answered", sourceLocation: sourceLocation)
            return
        }
        #expect(Set(revisions.values).count == 1, "members at different revisions: \(revisions)", sourceLocation: sourceLocation)
        let hashes = try await cluster.hashes(at: revision)
        #expect(Set(hashes.values).count == 1, "members diverged at revision \(revision): \(hashes)", sourceLocation: sourceLocation)
    }

    /// The leader is killed while writes go on: another member leads (how soon is printed; a
    /// bound on it belongs in a benchmark), writes are acknowledged again after that, and no
    /// acknowledged write is lost.
    @Test func leaderKilledUnderLoadNewLeaderNothingLost() async throws {
        let cluster = try TestCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.start()
        let leader = try await cluster.waitForLeader()
        let found = await cluster.name(of: leader)
        let leaderName = try #require(found)
        let clients = try cluster.members.map { try cluster.client($0.name) }
        let writer = Writer()
        let load = Task { await writer.run(clients: clients, prefix: "failover") }
        try await writer.waitForWrites(51)

        let killed = ContinuousClock.now
        cluster.kill(leaderName)
        let newLeader = try await cluster.waitForLeader(timeout: .seconds(30), excluding: leader)
        print("cluster failover: new leader \(String(newLeader, radix: 16)) after \(ContinuousClock.now - killed)")
        // Writes go through again under the new leader.
        try await writer.waitForWrites(writer.count + 50)
        load.cancel()
        await load.value
        try cluster.restart(leaderName)
        let writes = writer.writes
        #expect(writes.count > 50)
        for member in cluster.members {
            try await verify(writes, on: member.name, cluster: cluster, prefix: "failover")
        }
        try await expectConverged(cluster)
        for client in clients { await client.close() }
    }

    @Test func membershipChangesUnderLoadAndReplacingAWipedMember() async throws {
        let cluster = try TestCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.start()
        _ = try await cluster.waitForLeader()
        let clients = [try cluster.client("m1")]
        let writer = Writer()
        let load = Task { await writer.run(clients: clients, prefix: "members", count: 4) }

        // Add a fourth member while writes go on.
        let ports = try Ports.free(2)
        let admin = try cluster.client("m1")
        var add = Etcdserverpb_MemberAddRequest()
        add.peerUrls = ["http://127.0.0.1:\(ports[1])"]
        let added = try await admin.cluster.memberAdd(add, options: .timeout(seconds: 10))
        #expect(added.members.count == 4)
        try cluster.join(
            name: "m4", clientPort: ports[0], peerPort: ports[1],
            cluster: cluster.initialCluster + ",m4=http://127.0.0.1:\(ports[1])")

        // Replace m3: remove it, wipe its data, add it back as a new member.
        let m3 = try await cluster.status("m3").header.memberID
        var remove = Etcdserverpb_MemberRemoveRequest()
        remove.id = m3
        _ = try await admin.cluster.memberRemove(remove, options: .timeout(seconds: 10))
        let deadline = Date().addingTimeInterval(10)
        while cluster.isRunning("m3") && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!cluster.isRunning("m3"), "a removed member shuts itself down")
        // As the seeds advise: one change at a time, each once the cluster is stable again
        // (m3 may have been the leader).
        _ = try await cluster.waitForLeader(excluding: m3)
        cluster.wipe("m3")
        let m3Spec = try #require(cluster.members.first { $0.name == "m3" })
        var readd = Etcdserverpb_MemberAddRequest()
        readd.peerUrls = [m3Spec.peerURL]
        _ = try await admin.cluster.memberAdd(readd, options: .timeout(seconds: 10))
        try cluster.join(
            name: "m3", clientPort: m3Spec.clientPort, peerPort: m3Spec.peerPort,
            cluster: cluster.initialCluster + ",m4=http://127.0.0.1:\(ports[1])")

        // Writes still go through with the new membership.
        try await writer.waitForWrites(writer.count + 20)
        load.cancel()
        await load.value
        let list = try await admin.cluster.memberList(Etcdserverpb_MemberListRequest(), options: .timeout(seconds: 5))
        #expect(list.members.count == 4)
        #expect(!list.members.contains { $0.id == m3 }, "the old m3 is gone")
        for member in cluster.members {
            try await verify(writer.writes, on: member.name, cluster: cluster, prefix: "members")
        }
        try await expectConverged(cluster)
        await admin.close()
        for client in clients { await client.close() }
    }

    @Test func wholeClusterRestartKeepsEverything() async throws {
        let cluster = try TestCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.start()
        _ = try await cluster.waitForLeader()
        let client = try cluster.client("m2")
        var written: [String: (value: String, revision: Int64)] = [:]
        for i in 0..<50 {
            let response = try await client.put("restart/\(i)", "v\(i)")
            written["restart/\(i)"] = ("v\(i)", response.header.revision)
        }
        await client.close()
        for member in cluster.members { cluster.stop(member.name) }
        for member in cluster.members { try cluster.launch(member, cluster: cluster.initialCluster, state: "new") }
        for member in cluster.members { try cluster.waitReady(member.name) }
        _ = try await cluster.waitForLeader()
        for member in cluster.members {
            try await verify(written, on: member.name, cluster: cluster, prefix: "restart")
        }
        try await expectConverged(cluster)
    }

    /// A lone voter that restarts elects itself at once instead of waiting out an election
    /// timeout: it used to fast-forward its election timer by one timeout, which still left
    /// Raft's randomized timeout (one to two timeouts) up to a whole timeout to run, here
    /// 10 s, and the hand-over of that request to the Raft thread raced with the thread.
    /// What is checked is that ordering: the member serves before an election timeout could
    /// have run out (the restart time itself is printed; bounds on it belong in a benchmark).
    @Test func loneMemberRestartsWithoutWaitingForAnElectionTimeout() async throws {
        let cluster = try TestCluster(size: 1, extraArguments: ["--heartbeat-interval", "100", "--election-timeout", "10000"])
        defer { cluster.shutdown() }
        try cluster.start()
        let client = try cluster.client("m1")
        _ = try await client.put("k", "v")
        await client.close()
        for round in 0..<3 {
            cluster.stop("m1")
            let started = Date()
            try cluster.restart("m1", timeout: 30)
            let took = Date().timeIntervalSince(started)
            print("lone member restart, round \(round): serving after \(String(format: "%.2f", took)) s")
            #expect(took < 10, "round \(round): the restarted member took \(took) s to serve, as if it waited out the 10 s election timeout")
        }
    }

    @Test func farBehindFollowerCatchesUpBySnapshot() async throws {
        let cluster = try TestCluster(
            size: 3, extraArguments: ["--snapshot-count", "100", "--experimental-snapshot-catchup-entries", "20"])
        defer { cluster.shutdown() }
        try cluster.start()
        let leader = try await cluster.waitForLeader()
        let found = await cluster.name(of: leader)
        let leaderName = try #require(found)
        let follower = try #require(cluster.members.first { $0.name != leaderName }).name
        cluster.stop(follower)
        let client = try cluster.client(leaderName)
        var written: [String: (value: String, revision: Int64)] = [:]
        for i in 0..<400 {
            let response = try await client.put("snap/\(i % 50)", "v\(i)")
            written["snap/\(i % 50)"] = ("v\(i)", response.header.revision)
        }
        await client.close()
        try cluster.restart(follower)
        try await expectConverged(cluster)
        #expect(cluster.log(follower).contains("applied incoming snapshot"), "the follower caught up by snapshot")
        try await verify(written, on: follower, cluster: cluster, prefix: "snap")
    }
}
