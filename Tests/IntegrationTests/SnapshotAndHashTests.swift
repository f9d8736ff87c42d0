import EtcdProto
import Foundation
import HarnessSupport
import Storage
import TestLoad
import Testing

/// Maintenance.Snapshot through the real `etcdctl snapshot save`, and Maintenance.Hash on a
/// three-member cluster: a backup holds the backend and ends with its SHA-256, as etcd's do;
/// members that applied the same log hash alike.
@Suite(.serialized, .load(2, limit: .seconds(240))) struct SnapshotAndHashTests {
    @Test func aSavedSnapshotIsTheBackendWithItsChecksumAndMembersHashAlike() async throws {
        let cluster = try TestCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.start()
        let leader = try await cluster.waitForLeader()
        let leaderName = try #require(await cluster.name(of: leader))
        let client = try cluster.client(leaderName)
        for index in 0..<50 { _ = try await client.put("snap/\(index)", "value-\(index)") }
        await client.close()

        // Members that applied the same log have the same backend hash, and say at which
        // revision HashKV hashed.
        let hashes = try await waitForOneHash(cluster)
        #expect(hashes.count == 3, "every member answered: \(hashes)")
        let other = try cluster.client(try #require(cluster.members.first { $0.name != leaderName }).name)
        let hashKV = try await other.maintenance.hashKV(Etcdserverpb_HashKVRequest(), options: .timeout(seconds: 5))
        #expect(hashKV.hashRevision == hashKV.header.revision && hashKV.hashRevision > 50)
        await other.close()

        // etcdctl snapshot save: the file is the backend, then 32 bytes of its SHA-256.
        let file = cluster.directory.appendingPathComponent("backup.db")
        let member = try #require(cluster.members.first { $0.name == leaderName })
        let saved = try Child(
            executable: try Binaries.fromPath("etcdctl", override: "ETCDCTL_BIN"),
            arguments: ["--endpoints", member.endpoint, "snapshot", "save", file.path],
            environment: Binaries.cleanEnvironment(["ETCDCTL_API": "3"]), stdin: nil,
            stdoutURL: cluster.directory.appendingPathComponent("save.out"), stderrURL: cluster.directory.appendingPathComponent("save.err")
        ).finish(timeout: 60)
        #expect(saved.status == 0 && String(decoding: saved.stdout, as: UTF8.self).contains("Snapshot saved at"))
        let bytes = try Data(contentsOf: file)
        try #require(bytes.count > 32)
        let database = cluster.directory.appendingPathComponent("backup-without-checksum.db")
        try bytes.dropLast(32).write(to: database)
        #expect(try sha256(of: database) == bytes.suffix(32).map { String(format: "%02x", $0) }.joined())

        // It opens as a backend with every key written.
        let backend = try Backend(path: database.path)
        defer { try? backend.close() }
        let values = try backend.read { try $0.all(.key) }.map { Data($0.value) }
        for index in 0..<50 {
            #expect(values.contains { $0.range(of: Data("value-\(index)".utf8)) != nil }, "value-\(index) in the snapshot")
        }
    }

    /// Maintenance.Hash of every running member, once they all agree (they apply the same log
    /// at slightly different times).
    private func waitForOneHash(_ cluster: TestCluster) async throws -> [String: UInt32] {
        let deadline = ContinuousClock.now + .seconds(20)
        var hashes: [String: UInt32] = [:]
        while ContinuousClock.now < deadline {
            hashes = [:]
            for member in cluster.members where cluster.isRunning(member.name) {
                let client = try cluster.client(member.name)
                hashes[member.name] = try? await client.maintenance.hash(Etcdserverpb_HashRequest(), options: .timeout(seconds: 5)).hash
                await client.close()
            }
            if hashes.count == cluster.members.count && Set(hashes.values).count == 1 { return hashes }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the members' backend hashes never agreed: \(hashes)")
        return hashes
    }

    private func sha256(of file: URL) throws -> String {
        let out = file.appendingPathExtension("sha")
        let result = try Child(
            executable: try Binaries.fromPath("sha256sum", override: "SHA256SUM_BIN"), arguments: [file.path],
            environment: Binaries.cleanEnvironment(), stdin: nil, stdoutURL: out, stderrURL: out.appendingPathExtension("err")
        ).finish(timeout: 30)
        return String(String(decoding: result.stdout, as: UTF8.self).prefix { $0 != " " })
    }
}
