import EtcdProto
import Foundation
import GRPCCore
import Raft
import HarnessSupport
import Testing
import TestLoad

/// Issue 14: a member of a real cluster gets the traffic a hostile user can send to its peer
/// port, claiming to be the leader or another member, and must neither crash, nor lose its
/// data, nor be unable to restart.
@Suite(.serialized, .load(3)) struct HostilePeerTests {
    /// Waits until member `name` logged `text` (or stopped, which fails the test).
    func waitForLog(_ cluster: TestCluster, _ name: String, _ text: String) async throws {
        let guardDeadline = ContinuousClock.now + .seconds(60)
        while !cluster.log(name).contains(text) {
            guard cluster.isRunning(name) else { throw HarnessError("\(name) stopped:\n\(cluster.log(name).suffix(3000))") }
            guard ContinuousClock.now < guardDeadline else { throw HarnessError("\(name) never logged \(text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The value of `key` as member `name` itself has it (a serializable read).
    func localValue(_ cluster: TestCluster, _ name: String, _ key: String) async throws -> String? {
        let client = try cluster.client(name)
        defer { Task { await client.close() } }
        let request = Etcdserverpb_RangeRequest.with {
            $0.key = Data(key.utf8)
            $0.serializable = true
        }
        let response = try await client.kv.range(request, options: .timeout(seconds: 5))
        return response.kvs.first.map { String(decoding: $0.value, as: UTF8.self) }
    }

    func snapshot(to: UInt64, from: UInt64, term: UInt64, index: UInt64, voters: [UInt64]) -> Message {
        var message = Message(type: .snap, to: to, from: from, term: term)
        message.snapshot = Snapshot(metadata: SnapshotMetadata(confState: ConfState(voters: voters), index: index, term: term))
        return message
    }

    @Test func aMemberSurvivesHostilePeerTraffic() async throws {
        let cluster = try TestCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.start()
        let leaderID = try await cluster.waitForLeader()
        let leaderName = try #require(await cluster.name(of: leaderID))
        let leader = try #require(cluster.members.first { $0.name == leaderName })
        let target = try #require(cluster.members.first { $0.name != leaderName })

        let client = try cluster.client(target.name)
        defer { Task { await client.close() } }
        _ = try await client.put("k", "v")
        let lease = try await Etcdserverpb_Lease.Client(wrapping: client.client).leaseGrant(.with { $0.ttl = 600 })
        _ = try await client.kv.put(.with {
            $0.key = Data("leased".utf8)
            $0.value = Data("x".utf8)
            $0.lease = lease.id
        })
        let list = try await client.cluster.memberList(Etcdserverpb_MemberListRequest())
        let clusterID = list.header.clusterID
        let ids = list.members.map(\.id)
        let status = try await cluster.status(target.name)
        let targetID = status.header.memberID
        let term = status.raftTerm
        let otherID = try #require(ids.first { $0 != leaderID && $0 != targetID })
        let hostile = HostilePeer(port: target.peerPort)
        let asLeader = HostilePeer.header(cluster: clusterID, from: leaderID, to: targetID)

        // A heartbeat whose term would overflow the next campaign's.
        try await hostile.sendRaft([Message(type: .heartbeat, to: targetID, from: leaderID, term: .max)], header: asLeader)
        try await waitForLog(cluster, target.name, "is beyond the largest term accepted")
        // A heartbeat committing far beyond the member's log.
        try await hostile.sendRaft(
            [Message(type: .heartbeat, to: targetID, from: leaderID, term: term, commit: 1_000_000_000)], header: asLeader)
        try await waitForLog(cluster, target.name, "heartbeat commit 1000000000 is beyond the last index")
        // A snapshot on the Raft stream, without its database.
        await #expect(throws: RPCError.self) {
            try await hostile.sendRaft([snapshot(to: targetID, from: leaderID, term: term, index: 1_000_000, voters: ids)], header: asLeader)
        }

        // Databases a stranger made, sent through the Snapshot RPC.
        let matching = try HostilePeer.database(cluster: clusterID, members: ids, consistentIndex: 1_000_000)
        let foreign = try HostilePeer.database(cluster: clusterID &+ 1, members: ids, consistentIndex: 1_000_000)
        let behind = try HostilePeer.database(cluster: clusterID, members: ids, consistentIndex: 5)
        let attempts: [(from: UInt64, index: UInt64, database: Data)] = [
            (0x5742, 1_000_000, matching),  // not a member at all
            (otherID, 1_000_000, matching),  // a member, not the leader
            (leaderID, 1_000_000, foreign),  // another cluster's database
            (leaderID, 1_000_000, matching.prefix(matching.count / 2)),  // truncated
            (leaderID, 1_000_000, behind),  // does not hold what the snapshot claims
            (leaderID, 1, matching),  // not needed: long committed
        ]
        for attempt in attempts {
            let header = HostilePeer.header(cluster: clusterID, from: attempt.from, to: targetID)
            let message = snapshot(to: targetID, from: attempt.from, term: term, index: attempt.index, voters: ids)
            await #expect(throws: RPCError.self, "snapshot from \(String(attempt.from, radix: 16)) at \(attempt.index)") {
                try await hostile.sendSnapshot(message, database: attempt.database, header: header)
            }
        }

        // A stranger asks for the membership and for a lease's keys.
        await #expect(throws: RPCError.self) { _ = try await hostile.call { try await $0.members(Swetcdpb_MembersRequest()) } }
        await #expect(throws: RPCError.self) {
            _ = try await HostilePeer(port: leader.peerPort).call { peer in
                try await peer.leaseTimeToLive(.with {
                    $0.id = lease.id
                    $0.keys = true
                })
            }
        }
        await #expect(throws: RPCError.self) {
            _ = try await HostilePeer(port: leader.peerPort).call { try await $0.leaseRenew(.with { $0.id = lease.id }) }
        }

        #expect(cluster.isRunning(target.name))
        #expect(try await localValue(cluster, target.name, "k") == "v")
        #expect(try await localValue(cluster, target.name, "stranger") == nil)
        let snapDirectory = cluster.dataDirectory(target.name).appendingPathComponent("member/snap").path
        let files = try FileManager.default.contentsOfDirectory(atPath: snapDirectory)
        #expect(!files.contains { $0.hasPrefix("incoming-") }, "refused snapshots leave no file: \(files)")
        // The cluster still works, and the member restarts from its data dir.
        _ = try await client.put("k", "v2")
        cluster.stop(target.name)
        try cluster.restart(target.name)
        #expect(try await cluster.status(target.name).raftTerm < 1 << 62)
        _ = try await cluster.waitForLeader()
        let after = try cluster.client(target.name)
        defer { Task { await after.close() } }
        #expect(String(decoding: try await after.get("k").kvs.first?.value ?? Data(), as: UTF8.self) == "v2")
    }
}
