import Foundation
import HarnessSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The failover example end to end: two service processes, the primary is killed with
/// SIGKILL, the standby takes over once the primary's lease runs out.
final class ExampleTests: XCTestCase {
    func testStandbyTakesOverWhenPrimaryIsKilled() async throws {
        let example = try Binaries.builtProduct("swetcd-failover-example", override: "FAILOVER_EXAMPLE_BIN",
                                                buildHint: "run `swift build --product swetcd-failover-example` first")
        let cluster = try TestCluster.start(features: [.kv, .watch, .lease], test: name)
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
        XCTAssertTrue(waitFor("primary now", in: first, seconds: 15), output(first))
        let second = try start("second")
        defer { second.stop(grace: 1) }
        XCTAssertTrue(waitFor("standby, waiting for the lock", in: second, seconds: 15), output(second))
        usleep(500_000)
        XCTAssertFalse(output(second).contains("primary now"), "two primaries")

        kill(first.pid, SIGKILL)
        first.wait(timeout: 5)
        let killed = Date()
        XCTAssertTrue(waitFor("primary now", in: second, seconds: 15), output(second))
        XCTAssertLessThan(Date().timeIntervalSince(killed), 10)
        XCTAssertTrue(waitFor("working, round 2", in: second, seconds: 5), output(second))

        // SIGTERM: the primary steps down cleanly (unlocks, revokes its lease).
        kill(second.pid, SIGTERM)
        XCTAssertTrue(second.wait(timeout: 10))
        XCTAssertTrue(output(second).contains("stepped down"), output(second))
    }
}
