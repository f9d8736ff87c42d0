import Foundation
import HarnessSupport
import TestLoad
import Testing

/// Auth on a three-member cluster, driven by the real etcdctl: users, roles and permissions
/// changed through one member are enforced by every member, also by one that restarted and
/// by one that missed the change and caught up from a Raft snapshot.
@Suite(.serialized, .load(2, limit: .seconds(240))) struct AuthClusterTests {
    @Test func permissionsChangedThroughOneMemberAreEnforcedByAll() async throws {
        let cluster = try TestCluster(
            size: 3, extraArguments: ["--snapshot-count", "100", "--experimental-snapshot-catchup-entries", "20", "--bcrypt-cost", "4"])
        defer { cluster.shutdown() }
        try cluster.start()
        let leader = try await cluster.waitForLeader()
        let leaderName = try #require(await cluster.name(of: leader))
        // The leader first, the member that will miss a change last.
        let names = [leaderName] + cluster.members.map(\.name).filter { $0 != leaderName }
        let ctl = try Etcdctl(cluster: cluster)

        for command in [
            "user add root:rootpw", "user grant-role root root", "role add app", "role grant-permission app readwrite /app/ --prefix",
            "user add alice:apw", "user grant-role alice app", "auth enable",
        ] {
            try ctl.expectSuccess(command, on: names[0])
        }
        for name in names {
            try ctl.expectSuccess("--user alice:apw put /app/\(name) 1", on: name)
            try ctl.expectDenied("--user alice:apw put /other 1", on: name)
            try ctl.expectDenied("get /app/\(name)", on: name, error: "etcdserver: user name is empty")
        }

        // A follower misses the change to read-only and enough writes that it must catch up
        // from a snapshot.
        cluster.stop(names[2])
        try ctl.expectSuccess("--user root:rootpw role revoke-permission app /app/ /app0", on: names[1])
        try ctl.expectSuccess("--user root:rootpw role grant-permission app read /app/ --prefix", on: names[1])
        for index in 0..<60 {
            // Each call is two entries: the Authenticate and the put.
            try ctl.expectSuccess("--user root:rootpw put /fill/\(index) x", on: names[index % 2])
        }
        try cluster.restart(names[2])
        try ctl.waitUntil("--user root:rootpw get /fill/59", on: names[2], prints: "x")
        #expect(cluster.log(names[2]).contains("applied incoming snapshot"), "the third member caught up by snapshot")

        cluster.stop(names[1])
        try cluster.restart(names[1])
        for name in names {
            try ctl.expectSuccess("--user alice:apw get /app/\(name)", on: name)
            try ctl.expectDenied("--user alice:apw put /app/\(name) 2", on: name)
        }
    }
}

/// The real etcdctl against the members of a test cluster.
private struct Etcdctl {
    let cluster: TestCluster
    let binary: URL

    init(cluster: TestCluster) throws {
        self.cluster = cluster
        binary = try Binaries.fromPath("etcdctl", override: "ETCDCTL_BIN")
    }

    func run(_ command: String, on name: String) throws -> CommandOutput {
        let member = try #require(cluster.members.first { $0.name == name })
        let out = cluster.directory.appendingPathComponent("ctl-\(UUID().uuidString)")
        let output = try Child(
            executable: binary,
            arguments: ["--endpoints", member.endpoint, "--dial-timeout", "2s", "--command-timeout", "5s"]
                + command.split(separator: " ").map(String.init),
            environment: Binaries.cleanEnvironment(["ETCDCTL_API": "3"]), stdin: nil,
            stdoutURL: out, stderrURL: out.appendingPathExtension("err")
        ).finish(timeout: 30)
        if output.timedOut { throw HarnessError("etcdctl \(command) on \(name) outran 30 s") }
        return output
    }

    func expectSuccess(_ command: String, on name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let output = try run(command, on: name)
        #expect(output.status == 0, "etcdctl \(command) on \(name): \(output.text)", sourceLocation: sourceLocation)
    }

    func expectDenied(
        _ command: String, on name: String, error: String = "etcdserver: permission denied", sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let output = try run(command, on: name)
        #expect(output.status != 0 && output.text.contains("Error: \(error)"), "etcdctl \(command) on \(name): \(output.text)",
                sourceLocation: sourceLocation)
    }

    /// Runs `command` until its output contains `text` (a restarted member catching up).
    func waitUntil(_ command: String, on name: String, prints text: String) throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let output = try? run(command, on: name), output.status == 0, output.text.contains(text) { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw HarnessError("etcdctl \(command) on \(name) never printed \(text)")
    }
}

extension CommandOutput {
    /// Standard output and error, as text.
    fileprivate var text: String {
        String(decoding: stdout, as: UTF8.self) + String(decoding: stderr, as: UTF8.self)
    }
}
