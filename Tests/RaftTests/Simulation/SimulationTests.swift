import Foundation
import Testing
import TestLoad
@testable import Raft

/// Runs the deterministic simulator over many seeds.
///
/// Environment: `SIM_SEEDS` (how many seeds, default 2000), `SIM_FIRST_SEED` (default 1),
/// `SIM_STEPS` (sub-ticks of faults per seed, default 600), `SIM_SEED` (replay one seed),
/// `SIM_TRACE=1` (print every event of a replayed seed).
@Suite("Simulation", .load(2))
struct SimulationTests {
    static let shards = 4

    static func env(_ name: String) -> UInt64? {
        ProcessInfo.processInfo.environment[name].flatMap { UInt64($0) }
    }

    static var steps: Int { Int(env("SIM_STEPS") ?? 600) }

    static func replayCommand(_ seed: UInt64) -> String {
        "SIM_SEED=\(seed) SIM_STEPS=\(steps) SIM_TRACE=1 swift test --filter Simulation"
    }

    /// Runs one seed; returns a failure description or nil.
    static func runSeed(_ seed: UInt64, trace: Bool = false) -> (String?, Simulator) {
        let sim = Simulator(params: SimParams(seed: seed, steps: steps))
        if trace { sim.trace = { print($0) } }
        do {
            try sim.run()
            return (nil, sim)
        } catch {
            return ("\(error)", sim)
        }
    }

    /// Each shard computes on a thread of its own, off the cooperative pool other tests share.
    @Test("seeded runs", arguments: 0..<SimulationTests.shards)
    func seeds(shard: Int) async throws {
        let failures = try await onDedicatedThread("simulation shard \(shard)", nice: 10) { Self.runShard(shard) }
        for failure in failures { Issue.record(Comment(rawValue: failure)) }
    }

    /// Runs the shard's seeds and returns what failed.
    static func runShard(_ shard: Int) -> [String] {
        if let only = Self.env("SIM_SEED") {
            // No crash handler here: the seed is known, and the runtime's backtrace is more useful.
            guard shard == 0 else { return [] }
            let trace = ProcessInfo.processInfo.environment["SIM_TRACE"] == "1"
            let (failure, sim) = Self.runSeed(only, trace: trace)
            print("seed \(only): \(sim.p)")
            print("seed \(only): \(failure ?? "ok") after \(sim.now) sub-ticks; \(sim.stats)")
            return failure.map { ["simulation seed \(only) failed: \($0)"] } ?? []
        }
        CrashReporter.install()
        let count = Self.env("SIM_SEEDS") ?? 2000
        let first = Self.env("SIM_FIRST_SEED") ?? 1
        var ran = 0
        var failures: [String] = []
        var leaders = 0
        var reads = 0
        var applied: UInt64 = 0
        var stats = SimStats()
        var seed = first + UInt64(shard)
        while seed < first + count {
            CrashReporter.running(slot: shard, seed: seed)
            let (failure, sim) = Self.runSeed(seed)
            ran += 1
            leaders += sim.history.leadersSeen
            reads += sim.history.readsChecked
            applied += sim.history.maxApplied
            stats.add(sim.stats)
            if let f = failure {
                failures.append("seed \(seed) (\(sim.p)): \(f)\n  replay: \(Self.replayCommand(seed))")
                if failures.count >= 5 { break }
            }
            seed += UInt64(Self.shards)
        }
        CrashReporter.running(slot: shard, seed: nil)
        print("simulation shard \(shard): \(ran) seeds x \(Self.steps) steps, \(leaders) leaders elected, "
            + "\(reads) reads checked, \(applied) entries applied, \(failures.count) failures\n  \(stats)")
        for f in failures { print("SIMULATION FAILURE \(f)") }
        return failures.map { "SIMULATION FAILURE \($0)" }
    }

    @Test func sameSeedReplaysIdentically() {
        for seed: UInt64 in [7, 42, 1234] {
            let (f1, a) = Self.runSeed(seed)
            let (f2, b) = Self.runSeed(seed)
            #expect(f1 == f2)
            #expect(a.now == b.now)
            #expect(a.history.stateHash == b.history.stateHash)
            #expect(a.history.leaderOfTerm == b.history.leaderOfTerm)
            #expect(a.stats.messages == b.stats.messages)
        }
    }
}

/// Prints the seeds being simulated if the process dies (a failed precondition inside Raft
/// traps), so that even a crash names its seed and the command to replay it.
enum CrashReporter {
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: 16)
        p.initialize(repeating: .max, count: 16)
        return p
    }()
    nonisolated(unsafe) static let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
    nonisolated(unsafe) static var installed = false
    static let lock = NSLock()

    static func install() {
        lock.lock()
        defer { lock.unlock() }
        if installed { return }
        installed = true
        _ = slots
        _ = buffer
        for sig in [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS] {
            signal(sig, crashHandler)
        }
    }

    static func running(slot: Int, seed: UInt64?) {
        slots[slot] = seed ?? .max
    }
}

private func crashHandler(_ sig: Int32) {
    let prefix = Array("\nRAFT SIMULATION CRASHED while running seed ".utf8)
    let suffix = Array(" -- replay with SIM_SEED=<seed> SIM_TRACE=1 swift test --filter Simulation\n".utf8)
    for i in 0..<16 {
        let seed = CrashReporter.slots[i]
        if seed == .max { continue }
        prefix.withUnsafeBufferPointer { _ = write(2, $0.baseAddress, $0.count) }
        var v = seed
        var n = 0
        repeat {
            CrashReporter.buffer[n] = UInt8(48 + v % 10)
            v /= 10
            n += 1
        } while v > 0
        var j = 0
        while j < n / 2 {
            let t = CrashReporter.buffer[j]
            CrashReporter.buffer[j] = CrashReporter.buffer[n - 1 - j]
            CrashReporter.buffer[n - 1 - j] = t
            j += 1
        }
        _ = write(2, CrashReporter.buffer, n)
        suffix.withUnsafeBufferPointer { _ = write(2, $0.baseAddress, $0.count) }
    }
    signal(sig, SIG_DFL)
    raise(sig)
}
