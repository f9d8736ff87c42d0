import Foundation
import Testing
import TestLoad

@testable import Robustness

/// Issue 14, "make the class impossible": a short run of three swetcd members under hostile
/// client and peer traffic only, besides the normal workload. No member may die, every hostile
/// input must get its expected kind of answer, and the history checks must pass although hostile
/// writes take revisions the workload never made. `ROBUSTNESS_SEED` repeats a run.
@Suite(.load(3)) struct HostileRobustnessTests {
    @Test func hostileTrafficKillsNoMemberAndLeavesTheHistoryChecksPassing() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["ROBUSTNESS_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64(UInt32.max))
        let config = RobustnessConfig(
            binary: try RobustnessConfig.resolveBinary("swetcd"), members: 3, duration: .seconds(25), clients: 4,
            seed: seed, faults: FaultKind.hostile, checkTimeout: .seconds(60))
        let report = try await RobustnessRun.run(config)
        print(report.text)

        #expect(report.crashes.isEmpty, "a member died (seed \(seed))")
        let hostile = report.faults.filter(\.kind.isHostile)
        #expect(Set(hostile.map(\.kind)) == Set(FaultKind.hostile), "both hostile kinds ran (seed \(seed))")
        for fault in hostile {
            #expect(fault.failure.isEmpty, "\(fault.kind.rawValue) \(fault.probe ?? "?"): \(fault.failure) (seed \(seed))")
        }
        #expect(hostile.contains { $0.refused == true } && hostile.contains { $0.refused == false })
        // The checks saw the hostile writes' revisions and still passed.
        #expect(report.check.watch.writeLog.values.contains { $0.key.hasPrefix(RobustnessRun.hostilePrefix) })
        #expect(report.check.watch.complete)
        #expect(!report.check.violation, "history checks failed (seed \(seed))")
        #expect(report.hashesAgree)
        #expect(report.check.operationsChecked > 0)
        #expect(report.passed, "robustness run failed (seed \(seed)); report above")
    }
}
