import EtcdProto
import Foundation
import HarnessSupport
import Testing
import TestLoad

/// Three members with TLS on the client and the peer port (client and peer certificates
/// required, peers limited to CN `peer`): they elect, fail over and take a fourth member
/// with a good certificate; a member with a disallowed CN or another CA's certificate,
/// added with MemberAdd, cannot join, and both sides' logs say why.
@Suite(.serialized, .load(3, limit: .seconds(300))) struct PeerTLSClusterTests {
    @Test func tlsClusterElectsFailsOverAndAdmitsOnlyGoodCertificates() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-peer-tls-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let pki = try TestPKI.make(in: root)
        let flags = [
            "--cert-file", pki.cert("server"), "--key-file", pki.key("server"),
            "--client-cert-auth", "--trusted-ca-file", pki.cert("ca"),
            "--peer-cert-file", pki.cert("peer"), "--peer-key-file", pki.key("peer"),
            "--peer-client-cert-auth", "--peer-trusted-ca-file", pki.cert("ca"), "--peer-cert-allowed-cn", "peer",
        ]
        let cluster = try TestCluster(
            size: 3, extraArguments: flags,
            clientTLS: .init(trustedCA: pki.cert("ca"), certificate: pki.cert("client"), key: pki.key("client")))
        defer { cluster.shutdown() }
        try cluster.start()
        #expect(cluster.members.allSatisfy { $0.peerURL.hasPrefix("https://") })

        // Election and replication over TLS.
        let leader = try await cluster.waitForLeader()
        let m1 = try cluster.client("m1")
        defer { Task { await m1.close() } }
        _ = try await m1.put("tls/before", "1")
        try await expectValue("tls/before", "1", on: "m3", cluster: cluster)

        // Failover: the leader dies, the others elect a new one and keep taking writes.
        let leaderName = try #require(await cluster.name(of: leader))
        cluster.kill(leaderName)
        _ = try await cluster.waitForLeader(timeout: .seconds(20), excluding: leader)
        let survivor = try #require(cluster.members.first { $0.name != leaderName }?.name)
        let survivorClient = try cluster.client(survivor)
        _ = try await survivorClient.put("tls/after-failover", "2", timeout: 10)
        await survivorClient.close()
        try cluster.restart(leaderName)
        try await expectValue("tls/after-failover", "2", on: leaderName, cluster: cluster)

        // A fourth member with a good certificate joins.
        let good = try Ports.free(2)
        _ = try await addMember(peerPort: good[1], learner: false, via: cluster)
        try cluster.join(
            name: "m4", clientPort: good[0], peerPort: good[1],
            cluster: cluster.initialCluster + ",m4=https://127.0.0.1:\(good[1])")
        try await expectValue("tls/after-failover", "2", on: "m4", cluster: cluster)

        // Members with a certificate the peers refuse cannot join.
        let intruders = [
            ("m5", "peer-intruder", "client certificate authentication failed"),
            ("m6", "peer-ca2", "tls: failed to verify client certificate"),
        ]
        for (name, certificate, reason) in intruders {
            let ports = try Ports.free(2)
            let id = try await addMember(peerPort: ports[1], learner: true, via: cluster)
            cluster.overrides[name] = ["--peer-cert-file": pki.cert(certificate), "--peer-key-file": pki.key(certificate)]
            #expect(throws: HarnessError.self, "\(name) with \(certificate) must not join") {
                try cluster.join(
                    name: name, clientPort: ports[0], peerPort: ports[1],
                    cluster: cluster.initialCluster + ",\(name)=https://127.0.0.1:\(ports[1])")
            }
            cluster.forget(name)
            #expect(cluster.log(name).contains("could not get the cluster's members"), "\(name) says it could not join")
            if certificate == "peer-intruder" {
                // Refused after a TLS 1.3 handshake: the joiner sees a closed connection and says what it may mean.
                #expect(cluster.log(name).contains("it may have refused this side's TLS certificate"), "\(cluster.log(name).suffix(600))")
            }
            let refusedBy = cluster.members.filter { cluster.log($0.name).contains(reason) }
            #expect(!refusedBy.isEmpty, "a member logs why it refused \(certificate)")
            for member in refusedBy {
                let line = cluster.log(member.name).split(separator: "\n").first { $0.contains(reason) }
                #expect(line?.contains("rejected connection on peer endpoint") == true && line?.contains("\"level\":\"warn\"") == true)
            }
            var remove = Etcdserverpb_MemberRemoveRequest()
            remove.id = id
            _ = try await m1.cluster.memberRemove(remove, options: .timeout(seconds: 10))
        }

        // The cluster is whole and still takes writes through every member.
        for member in cluster.members {
            let client = try cluster.client(member.name)
            _ = try await client.put("tls/end-\(member.name)", member.name, timeout: 10)
            await client.close()
        }
        let list = try await m1.cluster.memberList(Etcdserverpb_MemberListRequest(), options: .timeout(seconds: 5))
        #expect(list.members.count == 4)
    }

    /// MemberAdd with an https peer URL; returns the new member's ID.
    private func addMember(peerPort: Int, learner: Bool, via cluster: TestCluster) async throws -> UInt64 {
        let admin = try cluster.client("m1")
        defer { Task { await admin.close() } }
        var add = Etcdserverpb_MemberAddRequest()
        add.peerUrls = ["https://127.0.0.1:\(peerPort)"]
        add.isLearner = learner
        return try await admin.cluster.memberAdd(add, options: .timeout(seconds: 10)).member.id
    }

    /// Waits until member `name` serves `key` with `value` (it may still be catching up).
    private func expectValue(_ key: String, _ value: String, on name: String, cluster: TestCluster) async throws {
        let client = try cluster.client(name)
        defer { Task { await client.close() } }
        var seen: String?
        for _ in 0..<100 {
            seen = (try? await client.get(key).kvs.first).map { String(decoding: $0.value, as: UTF8.self) }
            if seen == value { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(name) serves \(key) = \(seen ?? "nothing"), not \(value)")
    }
}
