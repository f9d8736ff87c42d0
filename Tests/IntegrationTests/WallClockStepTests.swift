import Foundation
import HarnessSupport
import Testing
import TestLoad

/// Raft's ticks run on the monotonic clock: a member whose wall clock is stepped back an hour
/// (NTP, an operator, a VM restored) still times out its leader and campaigns. On the wall
/// clock, its next tick would be an hour away and the cluster would never elect again.
///
/// libfaketime (`apt-get install libfaketime`) moves each member's wall clock while the
/// monotonic clock stays real; each member reads its offset from a file the test rewrites.
@Suite(.load(3, limit: .seconds(180))) struct WallClockStepTests {
    static let faketime = ["x86_64", "aarch64"]
        .map { "/usr/lib/\($0)-linux-gnu/faketime/libfaketime.so.1" }
        .first { FileManager.default.fileExists(atPath: $0) }

    @Test(.enabled(if: faketime != nil, "libfaketime is not installed"))
    func followersWhoseWallClockSteppedBackStillElectANewLeader() async throws {
        let cluster = try TestCluster(size: 3)
        defer { cluster.shutdown() }
        var offsetFiles: [String: URL] = [:]
        for member in cluster.members {
            let file = cluster.directory.appendingPathComponent("\(member.name).faketime")
            try "+0".write(to: file, atomically: true, encoding: .utf8)
            offsetFiles[member.name] = file
            // The flags go in ETCD_* variables: with libfaketime preloaded, a Swift binary
            // sometimes starts without its command-line arguments.
            cluster.environmentWrappers[member.name] = [
                "LD_PRELOAD=\(Self.faketime ?? "")", "FAKETIME_TIMESTAMP_FILE=\(file.path)",
                "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1",
            ]
        }
        try cluster.start()
        let leader = try await cluster.waitForLeader(timeout: .seconds(30))
        let leaderName = try #require(await cluster.name(of: leader))
        let client = try cluster.client(leaderName)
        _ = try await client.put("before", "1")
        await client.close()

        for member in cluster.members where member.name != leaderName {
            try "-3600".write(to: offsetFiles[member.name]!, atomically: true, encoding: .utf8)
        }
        // A write through a follower after the step: its loop has run on the stepped clock.
        let follower = try #require(cluster.members.first { $0.name != leaderName })
        let followerClient = try cluster.client(follower.name)
        _ = try await followerClient.put("stepped", "1")
        await followerClient.close()

        cluster.kill(leaderName)
        let next = try await cluster.waitForLeader(timeout: .seconds(60), excluding: leader)
        #expect(next != leader)
        let survivor = try cluster.client(follower.name)
        defer { Task { await survivor.close() } }
        _ = try await survivor.put("after", "1")
    }
}
