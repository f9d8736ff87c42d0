import Foundation
import HarnessSupport
import Testing
import TestLoad
#if canImport(Glibc)
import Glibc
#endif

/// The failover example end to end: two service processes, the primary is killed with
/// SIGKILL, the standby takes over once the primary's lease runs out (not before: the
/// primary works on meanwhile and the standby's output shows no takeover until the kill).
@Suite(.load(3)) struct ExampleTests {
    @Test func standbyTakesOverWhenPrimaryIsKilled() async throws {
        let example = try Binaries.builtProduct("swetcd-failover-example", override: "FAILOVER_EXAMPLE_BIN",
                                                buildHint: "run `swift build --product swetcd-failover-example` first")
        let cluster = try TestCluster.start(features: [.kv, .watch, .lease], test: "standbyTakesOverWhenPrimaryIsKilled")
        defer { cluster.stop() }
        func start(_ name: String) throws -> Child {
            try Child(executable: example,
                      arguments: ["--endpoints", cluster.endpoints.joined(separator: ","), "--name", name, "--ttl", "2"],
                      environment: Binaries.cleanEnvironment(), stdin: nil,
                      stdoutURL: cluster.root.appendingPathComponent("\(name).out"),
                      stderrURL: cluster.root.appendingPathComponent("\(name).err"))
        }
        func output(_ child: Child) -> String { (try? String(contentsOf: child.stdoutURL, encoding: .utf8)) ?? "" }
        func waitFor(_ text: String, in child: Child, seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if output(child).contains(text) { return true }
                usleep(50_000)
            }
            return false
        }

        let first = try start("first")
        defer { first.stop(grace: 1) }
        #expect(waitFor("primary now", in: first, seconds: 15), "\(output(first))")
        let second = try start("second")
        defer { second.stop(grace: 1) }
        #expect(waitFor("standby, waiting for the lock", in: second, seconds: 15), "\(output(second))")
        // The primary works two more rounds while the standby waits.
        let rounds = output(first).components(separatedBy: "working, round").count - 1
        #expect(waitFor("working, round \(rounds + 2)", in: first, seconds: 30), "\(output(first))")

        let beforeKill = output(second)
        kill(first.pid, SIGKILL)
        first.wait(timeout: 5)
        #expect(!beforeKill.contains("primary now"), "two primaries: \(beforeKill)")
        #expect(waitFor("primary now", in: second, seconds: 30), "\(output(second))")
        #expect(waitFor("working, round 2", in: second, seconds: 30), "\(output(second))")

        // SIGTERM: the primary steps down cleanly (unlocks, revokes its lease).
        kill(second.pid, SIGTERM)
        #expect(second.wait(timeout: 10))
        #expect(output(second).contains("stepped down"), "\(output(second))")
    }
}
