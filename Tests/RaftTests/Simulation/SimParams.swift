@testable import Raft

/// Everything that shapes one simulated world, derived from its seed alone so that a seed is a
/// complete bug report.
struct SimParams: CustomStringConvertible {
    var seed: UInt64
    var nodes: Int
    var spareNodes: Int
    var preVote: Bool
    var checkQuorum: Bool
    var electionTick: Int
    var heartbeatTick: Int
    var maxSizePerMsg: UInt64
    var maxInflight: Int
    var maxUncommitted: UInt64
    var maxCommittedPerReady: UInt64
    var disableForwarding: Bool
    var campaignRate: Double
    /// Sub-ticks per node tick: messages are delivered at sub-tick granularity.
    var subTicks: Int
    /// Steps (sub-ticks) of the faulty phase.
    var steps: Int
    var dropRate: Double
    var dupRate: Double
    var maxDelay: Int
    var longDelayRate: Double
    var crashRate: Double
    var tornCrashRate: Double
    var partitionRate: Double
    var proposeRate: Double
    var readRate: Double
    var confChangeRate: Double
    var transferRate: Double
    var snapshotRate: Double
    var readyRate: Double
    var skipTickRate: Double

    init(seed: UInt64, steps: Int) {
        self.seed = seed
        var r = SeededRandom(seed: seed ^ 0x5EED_5EED_5EED_5EED)
        func pick<T>(_ xs: [T]) -> T { xs[Int(r.next(below: UInt64(xs.count)))] }
        func chance(_ lo: Double, _ hi: Double) -> Double {
            lo + (hi - lo) * Double(r.next(below: 1_000_000)) / 1_000_000
        }
        nodes = pick([3, 3, 5, 5, 7])
        spareNodes = pick([0, 1, 2])
        preVote = pick([true, false])
        checkQuorum = pick([true, false])
        electionTick = pick([5, 8, 10])
        heartbeatTick = pick([1, 2])
        maxSizePerMsg = pick([0, 64, 256, UInt64.max])
        maxInflight = pick([1, 2, 4, 64])
        maxUncommitted = pick([0, 0, 200])
        subTicks = pick([2, 4])
        self.steps = steps
        dropRate = pick([0, chance(0.01, 0.1), chance(0.1, 0.3)])
        dupRate = pick([0, chance(0.01, 0.1)])
        maxDelay = pick([1, subTicks, 3 * subTicks])
        longDelayRate = pick([0, 0.005, 0.02])
        crashRate = pick([0, chance(0.001, 0.006)])
        tornCrashRate = pick([0, 0.003])
        partitionRate = pick([0, chance(0.001, 0.006)])
        proposeRate = chance(0.05, 0.4)
        readRate = chance(0.01, 0.1)
        confChangeRate = pick([0, chance(0.002, 0.01)])
        transferRate = pick([0, chance(0.001, 0.005)])
        snapshotRate = pick([0, chance(0.005, 0.03)])
        readyRate = pick([1.0, chance(0.3, 0.9)])
        skipTickRate = pick([0, 0.05])
        maxCommittedPerReady = pick([0, 0, 100])
        disableForwarding = pick([false, false, true])
        campaignRate = pick([0, 0.002])
    }

    var description: String {
        "nodes=\(nodes)+\(spareNodes) preVote=\(preVote) checkQuorum=\(checkQuorum) election=\(electionTick) "
            + "heartbeat=\(heartbeatTick) maxMsg=\(maxSizePerMsg) inflight=\(maxInflight) uncommitted=\(maxUncommitted) "
            + "drop=\(dropRate) dup=\(dupRate) delay=\(maxDelay) crash=\(crashRate) partition=\(partitionRate) "
            + "conf=\(confChangeRate) transfer=\(transferRate) snap=\(snapshotRate) ready=\(readyRate) "
            + "perReady=\(maxCommittedPerReady) noForward=\(disableForwarding) campaign=\(campaignRate)"
    }
}

/// The simulator's own random source (separate from the nodes' seeds).
struct SimRandom {
    var gen: SeededRandom

    init(seed: UInt64) { gen = SeededRandom(seed: seed) }

    mutating func below(_ n: Int) -> Int { Int(gen.next(below: UInt64(n))) }

    mutating func chance(_ p: Double) -> Bool {
        if p <= 0 { return false }
        return Double(gen.next(below: 1 << 30)) < p * Double(1 << 30)
    }

    mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }

    mutating func shuffle<T>(_ xs: inout [T]) {
        if xs.count < 2 { return }
        for i in stride(from: xs.count - 1, to: 0, by: -1) {
            xs.swapAt(i, below(i + 1))
        }
    }
}

/// An error that ends a simulation run: a broken invariant, with enough context to debug it.
struct SimFailure: Error, CustomStringConvertible {
    var description: String
}
