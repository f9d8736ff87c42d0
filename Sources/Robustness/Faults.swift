import EtcdProto
import Foundation
import HarnessSupport

public struct FaultConfig: Sendable {
    public var kinds: [FaultKind]
    /// Seconds between the end of one fault and the start of the next, per lane.
    public var gap: ClosedRange<Double>
    /// How long a SIGSTOP lasts: longer than the election timeout (1 s), so the others elect.
    public var pause: ClosedRange<Double>
    /// How long a killed member stays down.
    public var downtime: ClosedRange<Double>
    /// Faults in progress at once; each takes one member down, so at most (members - 1) / 2
    /// keeps a majority up.
    public var lanes: Int
    /// Probability that a kill or pause hits the leader.
    public var leaderBias: Double

    public init(kinds: [FaultKind] = FaultKind.disruptive, gap: ClosedRange<Double> = 1...4,
                pause: ClosedRange<Double> = 1.5...4, downtime: ClosedRange<Double> = 0.5...4,
                lanes: Int, leaderBias: Double = 0.5) {
        self.kinds = kinds
        self.gap = gap
        self.pause = pause
        self.downtime = downtime
        self.lanes = lanes
        self.leaderBias = leaderBias
    }
}

/// Members currently under a fault, so that lanes never take the same one.
actor FaultSlots {
    private var busy: Set<Int> = []

    /// Picks a free member that is up: the leader if `wantLeader` and possible, else a follower
    /// (or anyone free), and marks it busy.
    func reserve(in cluster: Cluster, leader: Int?, wantLeader: Bool, roll: UInt64) async -> Int? {
        var free: [Int] = []
        for member in 0..<cluster.count where !busy.contains(member) {
            if await cluster.isUp(member) { free.append(member) }
        }
        guard !free.isEmpty else { return nil }
        let chosen: Int
        if wantLeader, let leader, free.contains(leader) {
            chosen = leader
        } else {
            let followers = free.filter { $0 != leader }
            let pool = followers.isEmpty ? free : followers
            chosen = pool[Int(roll % UInt64(pool.count))]
        }
        busy.insert(chosen)
        return chosen
    }

    func release(_ member: Int) { busy.remove(member) }
}

/// Injects faults until `end`, one at a time; each fault is undone before the next.
struct FaultLane {
    let lane: Int
    let cluster: Cluster
    let config: FaultConfig
    let slots: FaultSlots
    let clock: RunClock
    let progress: RunProgress
    var random: SplitMix64

    mutating func run(until end: Int64) async -> [FaultRecord] {
        var records: [FaultRecord] = []
        guard !config.kinds.isEmpty else { return records }
        await sleep(seconds: config.gap)
        var round: [FaultKind] = []
        while clock.nanoseconds() < end, !Task.isCancelled {
            // Every kind once per round, in a random order: a short run tries each of them.
            if round.isEmpty { round = config.kinds.shuffled(using: &random) }
            let kind = round.removeLast()
            let injected = await inject(kind)
            records += injected
            progress.faults.add(injected.count, ordering: .relaxed)
            await sleep(seconds: config.gap)
        }
        return records
    }

    private mutating func sleep(seconds range: ClosedRange<Double>) async {
        try? await Task.sleep(for: randomDuration(range))
    }

    private mutating func randomDuration(_ range: ClosedRange<Double>) -> Duration {
        let fraction = Double(random.next() % 1_000_000) / 1_000_000
        let seconds = range.lowerBound + fraction * (range.upperBound - range.lowerBound)
        return .milliseconds(Int(seconds * 1000))
    }

    /// Polls the other members' Status until one reports a leader other than `old`, for at most
    /// `limit`; returns how long that took.
    private func waitForNewLeader(replacing old: Int, within limit: Duration) async -> Duration? {
        let started = ContinuousClock.now
        let ids = await cluster.ids()
        while ContinuousClock.now - started < limit {
            for member in 0..<cluster.count where member != old {
                guard await cluster.isUp(member),
                      let status = await cluster.admin[member].status(timeout: .milliseconds(200))
                else { continue }
                if status.leader != 0, status.leader != ids[old] { return ContinuousClock.now - started }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// One fault: a record, or one per input for the hostile kinds (none if no member was free).
    private mutating func inject(_ kind: FaultKind) async -> [FaultRecord] {
        let leader = await cluster.leader()
        switch kind {
        case .hostileClient, .hostilePeer:
            // Reserved so that no other lane kills or pauses the member meanwhile.
            let wantLeader = Double(random.next() % 1000) / 1000 < config.leaderBias
            guard let member = await slots.reserve(in: cluster, leader: leader, wantLeader: wantLeader, roll: random.next())
            else { return [] }
            let seed = SplitMix64(seed: random.next())
            let records: [FaultRecord]
            if kind == .hostileClient {
                var client = HostileClient(member: member, cluster: cluster, clock: clock, wasLeader: member == leader, random: seed)
                records = await client.run()
            } else {
                var peer = HostilePeer(member: member, cluster: cluster, clock: clock, wasLeader: member == leader, random: seed)
                records = await peer.run()
            }
            await slots.release(member)
            return records
        case .kill, .pause:
            let wantLeader = Double(random.next() % 1000) / 1000 < config.leaderBias
            guard let member = await slots.reserve(in: cluster, leader: leader, wantLeader: wantLeader, roll: random.next())
            else { return [] }
            let started = clock.nanoseconds()
            let length = randomDuration(kind == .kill ? config.downtime : config.pause)
            var failure = ""
            if kind == .kill {
                await cluster.kill(member)
            } else {
                await cluster.pause(member)
            }
            let faulted = ContinuousClock.now
            var election: Duration?
            if member == leader { election = await waitForNewLeader(replacing: member, within: length) }
            let remaining = length - (ContinuousClock.now - faulted)
            if remaining > .zero { try? await Task.sleep(for: remaining) }
            if kind == .kill {
                do {
                    try await cluster.restart(member)
                } catch {
                    failure = "restart failed: \(error)"
                }
            } else {
                await cluster.resume(member)
            }
            await slots.release(member)
            var record = FaultRecord(kind: kind, member: member, wasLeader: member == leader, started: started,
                                     ended: clock.nanoseconds(), failure: failure)
            record.newLeaderAfter = election.map { $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000 }
            return [record]
        case .moveLeader:
            guard let leader, await cluster.isUp(leader) else { return [] }
            var targets: [Int] = []
            for member in 0..<cluster.count where member != leader {
                if await cluster.isUp(member) { targets.append(member) }
            }
            guard !targets.isEmpty else { return [] }
            let target = targets[Int(random.next() % UInt64(targets.count))]
            let ids = await cluster.ids()
            var request = Etcdserverpb_MoveLeaderRequest()
            request.targetID = ids[target]
            let started = clock.nanoseconds()
            var failure = ""
            do {
                _ = try await cluster.admin[leader].maintenance.moveLeader(
                    request, options: MemberConnection.options(timeout: .seconds(5)))
            } catch {
                failure = describeError(error)
            }
            return [FaultRecord(kind: .moveLeader, member: target, wasLeader: false, started: started,
                                ended: clock.nanoseconds(), failure: failure)]
        }
    }
}
