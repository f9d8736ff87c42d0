@testable import Raft

extension Simulator {
    /// Runs the faulty phase, then heals everything and checks liveness.
    func run() throws {
        try bootstrap()
        for _ in 0..<p.steps { try step() }
        try checkLiveness()
    }

    /// One sub-tick of simulated time.
    func step() throws {
        now += 1
        let appliedBefore = history.maxApplied
        deliverReports()
        try injectFaults()
        try injectClientTraffic()
        try deliverDue()
        if now % p.subTicks == 0 {
            for n in nodes {
                guard let raw = n.node else { continue }
                if rng.chance(p.skipTickRate) { continue }
                raw.tick()
            }
        }
        for n in nodes where n.isLive && rng.chance(p.readyRate) {
            try handleReady(n)
        }
        try checkLeaders()
        try checkNewlyCommitted(from: appliedBefore + 1)
    }

    var liveNodes: [SimNode] { nodes.filter(\.isLive) }

    func randomLive() -> SimNode? {
        let live = liveNodes
        return live.isEmpty ? nil : rng.pick(live)
    }

    // MARK: - Faults

    func injectFaults() throws {
        if rng.chance(p.crashRate), let n = randomLive() { crash(n) }
        for n in nodes where !n.isLive && !n.removed && n.incarnation > 0 {
            if now - n.downSince > p.electionTick * p.subTicks / 2 && rng.chance(0.02) {
                try restart(n)
            }
        }
        let partitioned = group.contains { $0 != 0 }
        if !partitioned && rng.chance(p.partitionRate) {
            if rng.chance(0.5) {
                group[rng.below(nodes.count) + 1] = 1
            } else {
                for i in 1..<group.count { group[i] = rng.below(2) }
            }
            stats.partitions += 1
            log("partition \(group.dropFirst())")
        } else if partitioned && rng.chance(0.01) {
            for i in group.indices { group[i] = 0 }
            log("heal partition")
        }
    }

    // MARK: - Client traffic

    func injectClientTraffic() throws {
        if rng.chance(p.proposeRate), let n = randomLive() { propose(on: n) }
        if rng.chance(p.readRate), let n = randomLive() { read(on: n) }
        if rng.chance(p.confChangeRate) { proposeConfChange() }
        if rng.chance(p.transferRate) { transferLeadership() }
        if rng.chance(p.snapshotRate), let n = randomLive() { try takeSnapshot(on: n) }
        if rng.chance(p.campaignRate), let n = randomLive() {
            log("node \(n.id) campaigns")
            try? n.node?.campaign()
        }
    }

    func newPayload() -> [UInt8] {
        nextRequest += 1
        var data: [UInt8] = []
        var v = nextRequest
        for _ in 0..<8 {
            data.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
        // Vary sizes so byte limits (message size, uncommitted size) come into play.
        data += [UInt8](repeating: 0xAB, count: rng.below(3) == 0 ? rng.below(120) : 0)
        return data
    }

    @discardableResult
    func propose(on n: SimNode) -> Bool {
        guard let raw = n.node else { return false }
        stats.proposals += 1
        do {
            try raw.propose(newPayload())
            return true
        } catch {
            return false
        }
    }

    func read(on n: SimNode) {
        guard let raw = n.node else { return }
        nextRequest += 1
        let ctx: [UInt8] = [0x52] + withUnsafeBytes(of: nextRequest.littleEndian) { Array($0) }
        history.issueRead(ctx)
        stats.reads += 1
        raw.readIndex(ctx)
    }

    func transferLeadership() {
        guard let leader = nodes.first(where: { $0.node?.raft.state == .leader }), let raw = leader.node else { return }
        let voters = raw.raft.trk.config.voters.ids.ids.filter { $0 != leader.id }
        guard !voters.isEmpty else { return }
        let target = rng.pick(voters)
        stats.transfers += 1
        log("transfer leadership \(leader.id) -> \(target)")
        raw.transferLeadership(to: target)
    }

    func takeSnapshot(on n: SimNode) throws {
        guard n.applied > n.storage.latestSnapshot.metadata.index else { return }
        let snap = try n.storage.createSnapshot(at: n.applied, confState: n.confState, data: n.snapshotData())
        try history.checkSnapshot(node: n.id, index: snap.metadata.index, hash: n.hash)
        let keep = UInt64(rng.below(6))
        let compactTo = n.applied > keep ? n.applied - keep : n.applied
        if compactTo >= n.storage.firstIndex() { try n.storage.compact(compactTo) }
        stats.snapshots += 1
        log("node \(n.id) snapshot at \(snap.metadata.index), compacted to \(compactTo)")
    }

    /// Proposes a random membership change based on a leader's (possibly stale) view.
    func proposeConfChange() {
        let leaders = nodes.filter { $0.node?.raft.state == .leader }
        guard let n = leaders.isEmpty ? randomLive() : rng.pick(leaders), let raw = n.node else { return }
        let cfg = raw.raft.trk.config
        let voters = cfg.voters.incoming.ids
        let learners = cfg.learners.ids
        let members = Set(cfg.voters.ids.ids + learners + cfg.learnersNext.ids)
        let outsiders = nodes.map(\.id).filter { !members.contains($0) && !n.removedPeers.contains($0) && !(node($0)?.removed ?? true) }
        var change: ConfChangeConvertible?
        if voters.isEmpty {
            return
        } else if cfg.voters.isJoint {
            if !cfg.autoLeave { change = ConfChangeV2() }
        } else {
            switch rng.below(6) {
            case 0 where !outsiders.isEmpty:
                change = ConfChange(type: .addLearnerNode, nodeID: rng.pick(outsiders))
            case 1 where !learners.isEmpty:
                change = ConfChange(type: .addNode, nodeID: rng.pick(learners))
            case 2 where voters.count > 3:
                change = ConfChange(type: .removeNode, nodeID: rng.pick(voters))
            case 3 where voters.count > 3:
                change = ConfChangeV2(changes: [ConfChangeSingle(type: .addLearnerNode, nodeID: rng.pick(voters))])
            case 4 where !outsiders.isEmpty || !learners.isEmpty:
                // A joint change: swap a voter for a newcomer or a learner.
                let incoming = rng.pick(outsiders + learners)
                let outgoing = rng.pick(voters)
                let transition = rng.pick([ConfChangeTransition.auto, .jointImplicit, .jointExplicit])
                change = ConfChangeV2(transition: transition, changes: [
                    ConfChangeSingle(type: .addNode, nodeID: incoming),
                    ConfChangeSingle(type: .removeNode, nodeID: outgoing),
                ])
            case 5 where !learners.isEmpty || !outsiders.isEmpty:
                // Two changes at once, entered jointly.
                let a = rng.pick(outsiders + learners)
                change = ConfChangeV2(transition: .jointImplicit, changes: [
                    ConfChangeSingle(type: .addNode, nodeID: a),
                    ConfChangeSingle(type: .updateNode, nodeID: voters[0]),
                ])
            default:
                break
            }
        }
        guard let cc = change else { return }
        stats.confChanges += 1
        log("node \(n.id) proposes \(cc.asV2)")
        try? raw.proposeConfChange(cc)
    }

    // MARK: - Liveness

    /// Removes every fault, restarts crashed nodes and checks that a leader emerges within a
    /// bounded time and that proposals accepted by a stable leader are committed everywhere.
    func checkLiveness() throws {
        for i in group.indices { group[i] = 0 }
        p.dropRate = 0
        p.dupRate = 0
        p.longDelayRate = 0
        p.maxDelay = min(p.maxDelay, p.subTicks)
        p.readyRate = 1
        p.skipTickRate = 0
        p.tornCrashRate = 0
        for n in nodes where !n.isLive && !n.removed && n.incarnation > 0 { try restart(n) }
        log("---- healed ----")
        let electionBound = 30 * p.electionTick * p.subTicks
        for attempt in 0..<4 {
            let start = now
            var leader: SimNode?
            while now - start < electionBound {
                try quietStep()
                if let l = stableLeader() {
                    leader = l
                    break
                }
            }
            stats.ticksToLeader = max(stats.ticksToLeader, (now - start) / p.subTicks)
            guard let l = leader, let raw = l.node else {
                throw SimFailure(description: "liveness: no stable leader within \(electionBound / p.subTicks) ticks after healing (attempt \(attempt))")
            }
            let term = raw.raft.term
            var accepted = 0
            for _ in 0..<3 where propose(on: l) { accepted += 1 }
            if raw.raft.trk.config.voters.isJoint && !raw.raft.trk.config.autoLeave {
                try? raw.proposeConfChange(ConfChangeV2())
            }
            let target = raw.raft.log.lastIndex
            // The stable leader must commit the proposals and every member must apply them. A
            // far-behind follower may need many round trips (tiny messages, a window of one), so
            // the bound is on progress: the commit index, the members' match indexes (as the
            // leader sees them) and their applied indexes must keep moving.
            let stallBound = 10 * p.electionTick * p.subTicks
            var lastProgress = now
            var lastCommit: UInt64 = 0
            var lastApplied: [UInt64: UInt64] = [:]
            while l.node === raw && raw.raft.state == .leader && raw.raft.term == term {
                let ms = members(of: raw)
                if raw.raft.log.committed >= target && ms.allSatisfy({ $0.applied >= target }) {
                    log("liveness ok: leader \(l.id) term \(term), \(accepted) proposals committed at \(target)")
                    return
                }
                var moved = raw.raft.log.committed > lastCommit
                lastCommit = raw.raft.log.committed
                for m in ms {
                    // Progress is replication (the leader's match index) or application.
                    let mark = m.applied + (raw.raft.trk.progress[m.id]?.match ?? 0)
                    if mark > lastApplied[m.id, default: 0] { moved = true }
                    lastApplied[m.id] = mark
                }
                if moved {
                    lastProgress = now
                } else if now - lastProgress > stallBound {
                    let lag = ms.map { "\($0.id):\($0.applied)" }.joined(separator: " ")
                    throw SimFailure(description: "liveness: no progress towards index \(target) under stable leader \(l.id) "
                        + "(term \(term), commit \(raw.raft.log.committed)) for \(stallBound / p.subTicks) ticks [applied \(lag)]")
                }
                try quietStep()
            }
            log("leader \(l.id) lost leadership during the liveness check; retrying")
        }
        throw SimFailure(description: "liveness: leadership kept changing after healing")
    }

    private func quietStep() throws {
        p.proposeRate = 0
        p.readRate = 0
        p.confChangeRate = 0
        p.transferRate = 0
        p.crashRate = 0
        p.partitionRate = 0
        p.campaignRate = 0
        try step()
    }

    func members(of raw: RawNode) -> [SimNode] {
        let cfg = raw.raft.trk.config
        let ids = cfg.voters.ids.union(cfg.learners).union(cfg.learnersNext)
        return ids.compactMap { node($0) }.filter { !$0.removed }
    }

    /// A live leader whose term no live node exceeds and that every live member follows.
    func stableLeader() -> SimNode? {
        let leaders = nodes.filter { $0.node?.raft.state == .leader }
        guard let l = leaders.max(by: { $0.node!.raft.term < $1.node!.raft.term }), let raw = l.node else { return nil }
        let term = raw.raft.term
        for n in nodes {
            guard let r = n.node else { continue }
            if r.raft.term > term { return nil }
        }
        for m in members(of: raw) {
            guard let r = m.node else { return nil }
            if r.raft.term != term || r.raft.lead != l.id { return nil }
        }
        return l
    }
}
