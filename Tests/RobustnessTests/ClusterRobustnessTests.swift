import Foundation
import XCTest

@testable import Robustness

/// A bounded robustness run: a cluster under kills, pauses and leader moves, its history
/// checked. Environment:
/// - `ROBUSTNESS_BINARY`: `swetcd` (the default), `etcd` (to check the harness), or a path.
/// - `ROBUSTNESS_DURATION`: seconds of faults; default 300 when `CI=true`, else 60.
/// - `ROBUSTNESS_MEMBERS` (3), `ROBUSTNESS_CLIENTS` (6), `ROBUSTNESS_SEED` (random, printed).
final class ClusterRobustnessTests: XCTestCase {
    static let defaultBinary = "swetcd"

    func testClusterUnderFaultsStaysLinearizable() async throws {
        let environment = ProcessInfo.processInfo.environment
        let binaryName = environment["ROBUSTNESS_BINARY"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultBinary
        let ci = environment["CI"] == "true"
        let seconds = environment["ROBUSTNESS_DURATION"].flatMap(Double.init) ?? (ci ? 300 : 60)
        let members = environment["ROBUSTNESS_MEMBERS"].flatMap(Int.init) ?? 3
        let clients = environment["ROBUSTNESS_CLIENTS"].flatMap(Int.init) ?? 6
        let seed = environment["ROBUSTNESS_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64(UInt32.max))

        let config = RobustnessConfig(
            binary: try RobustnessConfig.resolveBinary(binaryName), members: members,
            duration: .milliseconds(Int(seconds * 1000)), clients: clients, seed: seed)
        let report = try await RobustnessRun.run(config)
        print(report.text)
        XCTAssertTrue(report.passed, "robustness run failed (seed \(seed)); report above")
        XCTAssertGreaterThan(report.faults.count, 0, "no fault was injected")
        XCTAssertGreaterThan(report.check.operationsChecked, 0, "no operation was checked")
    }
}
