@testable import Raft

/// What happened during a run (coverage, reported in the summary).
struct SimStats: CustomStringConvertible {
    var messages = 0
    var proposals = 0
    var crashes = 0
    var restarts = 0
    var partitions = 0
    var snapshots = 0
    var snapshotsInstalled = 0
    var confChanges = 0
    var simpleChanges = 0
    var jointEntered = 0
    var jointLeft = 0
    var transfers = 0
    var reads = 0
    var ticksToLeader = 0

    mutating func add(_ o: SimStats) {
        messages += o.messages
        proposals += o.proposals
        crashes += o.crashes
        restarts += o.restarts
        partitions += o.partitions
        snapshots += o.snapshots
        snapshotsInstalled += o.snapshotsInstalled
        confChanges += o.confChanges
        simpleChanges += o.simpleChanges
        jointEntered += o.jointEntered
        jointLeft += o.jointLeft
        transfers += o.transfers
        reads += o.reads
        ticksToLeader = max(ticksToLeader, o.ticksToLeader)
    }

    var description: String {
        "\(messages) msgs, \(proposals) proposals, \(crashes) crashes, \(restarts) restarts, \(partitions) partitions, "
            + "\(snapshots) snapshots (\(snapshotsInstalled) installed), conf changes: \(confChanges) proposed, "
            + "\(simpleChanges) simple, \(jointEntered) joint, \(jointLeft) left; \(transfers) transfers, \(reads) reads; "
            + "max \(ticksToLeader) ticks to a stable leader after healing"
    }
}

/// A deterministic world of Raft nodes: a seeded network that drops, delays, duplicates,
/// reorders and partitions; crashes that lose everything not yet persisted; random client
/// traffic, membership changes, leadership transfers, snapshots and reads. The simulator plays
/// the server: it persists each `Ready` before sending its messages, applies committed entries,
/// restarts crashed nodes from their storage. Invariants are checked after every step.
final class Simulator {
    struct InFlight {
        var deliverAt: Int
        var message: Message
    }

    struct LocalReport {
        var node: UInt64
        var peer: UInt64
        var snapshot: SnapshotStatus?
    }

    var p: SimParams
    var rng: SimRandom
    var nodes: [SimNode] = []
    var now = 0
    var network: [InFlight] = []
    var reports: [LocalReport] = []
    /// Partition group of each node (index = id); nodes in different groups cannot talk.
    var group: [Int]
    var history = SimHistory()
    var nextRequest: UInt64 = 0
    var trace: ((String) -> Void)?
    var stats = SimStats()

    init(params: SimParams) {
        p = params
        rng = SimRandom(seed: params.seed)
        let total = params.nodes + params.spareNodes
        group = Array(repeating: 0, count: total + 1)
        for id in 1...UInt64(total) { nodes.append(SimNode(id: id)) }
    }

    func node(_ id: UInt64) -> SimNode? {
        id >= 1 && Int(id) <= nodes.count ? nodes[Int(id) - 1] : nil
    }

    func log(_ s: @autoclosure () -> String) {
        if let t = trace { t("[\(now)] " + s()) }
    }

    func config(for n: SimNode) -> Config {
        Config(
            id: n.id, electionTick: p.electionTick, heartbeatTick: p.heartbeatTick,
            applied: n.storage.latestSnapshot.metadata.index, maxSizePerMsg: p.maxSizePerMsg,
            maxCommittedSizePerReady: p.maxCommittedPerReady, maxInflightMsgs: p.maxInflight,
            maxUncommittedEntriesSize: p.maxUncommitted, checkQuorum: p.checkQuorum, preVote: p.preVote,
            disableProposalForwarding: p.disableForwarding,
            seed: p.seed &* 31 &+ n.id &* 1_000_003 &+ n.incarnation)
    }

    // MARK: - Lifecycle

    func bootstrap() throws {
        let peers = (1...UInt64(p.nodes)).map { Peer(id: $0) }
        for n in nodes.prefix(p.nodes) {
            let raw = try RawNode(config: config(for: n), storage: n.storage)
            try raw.bootstrap(peers: peers)
            n.node = raw
            n.incarnation = 1
        }
    }

    /// Starts a node that was just added to the configuration (empty storage, no membership:
    /// it learns everything from the leader).
    func spawn(_ id: UInt64) {
        guard let n = node(id), !n.isLive, !n.removed, n.incarnation == 0 else { return }
        n.incarnation = 1
        n.node = try? RawNode(config: config(for: n), storage: n.storage)
        log("spawn \(id)")
    }

    func crash(_ n: SimNode) {
        guard n.isLive else { return }
        n.node = nil
        n.downSince = now
        stats.crashes += 1
        log("crash \(n.id)")
    }

    func restart(_ n: SimNode) throws {
        guard !n.isLive, !n.removed, n.incarnation > 0 else { return }
        n.incarnation += 1
        stats.restarts += 1
        n.node = try RawNode(config: config(for: n), storage: n.storage)
        n.restoreStateMachine(from: n.storage.latestSnapshot)
        log("restart \(n.id) (snapshot \(n.storage.latestSnapshot.metadata.index), hs \(n.storage.hardState))")
    }

    /// Permanently stops a node that was removed from the cluster (as etcd's server does).
    func shutDown(_ n: SimNode) {
        n.node = nil
        n.removed = true
        log("shut down removed node \(n.id)")
    }

    // MARK: - Network

    func send(_ m: Message) {
        stats.messages += 1
        if rng.chance(p.dropRate) {
            log("drop \(m)")
            if m.type == .snap { reports.append(LocalReport(node: m.from, peer: m.to, snapshot: .failure)) }
            return
        }
        enqueue(m)
        if rng.chance(p.dupRate) { enqueue(m) }
    }

    private func enqueue(_ m: Message) {
        var delay = 1 + rng.below(p.maxDelay)
        if rng.chance(p.longDelayRate) { delay += rng.below(2 * p.electionTick * p.subTicks) }
        network.append(InFlight(deliverAt: now + delay, message: m))
    }

    func deliverDue() throws {
        var due: [Message] = []
        var keep: [InFlight] = []
        keep.reserveCapacity(network.count)
        for f in network {
            if f.deliverAt <= now { due.append(f.message) } else { keep.append(f) }
        }
        network = keep
        rng.shuffle(&due)
        for m in due { try deliver(m) }
    }

    func deliver(_ m: Message) throws {
        guard let to = node(m.to), let raw = to.node else {
            if m.type == .snap { reports.append(LocalReport(node: m.from, peer: m.to, snapshot: .failure)) }
            return
        }
        if group[Int(m.from)] != group[Int(m.to)] {
            if m.type == .snap {
                reports.append(LocalReport(node: m.from, peer: m.to, snapshot: .failure))
            } else if rng.chance(0.3) {
                reports.append(LocalReport(node: m.from, peer: m.to, snapshot: nil))
            }
            return
        }
        if to.removedPeers.contains(m.from) {
            // Like etcd's transport: a removed member is told it is gone and stops.
            if let from = node(m.from), from.isLive { shutDown(from) }
            return
        }
        log("deliver \(m)")
        try? raw.step(m)
        if m.type == .snap { reports.append(LocalReport(node: m.from, peer: m.to, snapshot: .finish)) }
        if rng.chance(p.readyRate) { try handleReady(to) }
    }

    func deliverReports() {
        let pending = reports
        reports = []
        for r in pending {
            guard let raw = node(r.node)?.node else { continue }
            if let s = r.snapshot {
                raw.reportSnapshot(r.peer, status: s)
            } else {
                raw.reportUnreachable(r.peer)
            }
        }
    }

    // MARK: - The server loop for one node

    func handleReady(_ n: SimNode) throws {
        guard let raw = n.node, raw.hasReady() else { return }
        let rd = raw.ready()
        log("ready \(n.id): entries \(rd.entries.first.map { "\($0.term)/\($0.index)" } ?? "-")..\(rd.entries.last.map { "\($0.term)/\($0.index)" } ?? "-") "
            + "committed \(rd.committedEntries.first?.index ?? 0)..\(rd.committedEntries.last?.index ?? 0) hs \(rd.hardState.map { "\($0)" } ?? "-") "
            + "snap \(rd.snapshot?.metadata.index ?? 0) msgs \(rd.messages.count) last=\(raw.raft.log.lastIndex) stored=\(n.storage.lastIndex())")
        if let hs = rd.hardState { try history.observeHardState(n.id, hs) }
        try history.observeAppend(node: n.id, entries: rd.entries, storage: n.storage)
        // 1. Persist.
        if let snap = rd.snapshot {
            try n.storage.applySnapshot(snap)
        }
        n.storage.append(rd.entries)
        if let hs = rd.hardState { n.storage.setHardState(hs) }
        if rng.chance(p.tornCrashRate) {
            log("crash \(n.id) after persisting, before sending")
            crash(n)
            return
        }
        // 2. Send.
        for m in rd.messages {
            if m.type == .snap, let fresh = mergedSnapshot(n) {
                // Like etcd's server: ship the current applied state rather than the possibly old
                // stored snapshot (which may predate the recipient joining the cluster).
                var msg = m
                msg.snapshot = fresh
                send(msg)
            } else {
                send(m)
            }
        }
        if rng.chance(p.tornCrashRate) {
            log("crash \(n.id) after sending, before applying")
            crash(n)
            return
        }
        // 3. Apply.
        if let snap = rd.snapshot {
            n.restoreStateMachine(from: snap)
            stats.snapshotsInstalled += 1
            try history.checkSnapshot(node: n.id, index: snap.metadata.index, hash: n.hash)
            log("node \(n.id) installed snapshot \(snap.metadata.term)/\(snap.metadata.index)")
        }
        for e in rd.committedEntries {
            try apply(e, on: n, raw)
            if n.removed { return }
        }
        // 4. Reads.
        for rs in rd.readStates { try history.checkRead(node: n.id, rs) }
        raw.advance()
    }

    func mergedSnapshot(_ n: SimNode) -> Snapshot? {
        guard let term = try? n.storage.term(n.applied), n.applied >= n.storage.latestSnapshot.metadata.index else { return nil }
        return Snapshot(data: n.snapshotData(), metadata: SnapshotMetadata(confState: n.confState, index: n.applied, term: term))
    }

    func apply(_ e: Entry, on n: SimNode, _ raw: RawNode) throws {
        guard e.index > n.applied else { return }
        if e.index != n.applied + 1 {
            throw SimFailure(description: "node \(n.id) applies \(e.index) after \(n.applied)")
        }
        n.hash = try history.observeApply(node: n.id, nodeTerm: raw.raft.term, entry: e, prevHash: n.hash)
        n.applied = e.index
        guard let cc = try e.decodeConfChange() else { return }
        // Server-side validation, as in etcd: never re-add a removed member.
        let adds = cc.changes.filter { $0.type == .addNode || $0.type == .addLearnerNode }
        if adds.contains(where: { n.removedPeers.contains($0.nodeID) }) {
            log("node \(n.id) rejects \(cc) (re-adds a removed member)")
            return
        }
        let before = n.confState
        do {
            n.confState = try raw.applyConfChange(cc)
            if n.id == 1 || n.confState.voters.first == n.id {
                // Count each change once (at one node), by kind.
                if cc.leaveJoint { stats.jointLeft += 1 } else if cc.enterJointAutoLeave != nil { stats.jointEntered += 1 } else { stats.simpleChanges += 1 }
            }
        } catch {
            log("node \(n.id) conf change \(cc) rejected: \(error)")
            return
        }
        let beforeIDs = Set(before.voters + before.learners + before.votersOutgoing)
        let afterIDs = Set(n.confState.voters + n.confState.learners + n.confState.votersOutgoing)
        for id in beforeIDs.subtracting(afterIDs).sorted() { n.removedPeers.insert(id) }
        log("node \(n.id) applied conf change at \(e.index): \(n.confState)")
        for id in afterIDs.subtracting(beforeIDs).sorted() where id != n.id { spawn(id) }
        if beforeIDs.contains(n.id) && !afterIDs.contains(n.id) {
            shutDown(n)
        }
    }

    // MARK: - Invariants checked after every step

    func checkLeaders() throws {
        for n in nodes {
            guard let raw = n.node, raw.raft.state == .leader else { continue }
            let known = history.leaderOfTerm[raw.raft.term] != nil
            try history.observeLeader(n.id, term: raw.raft.term)
            if !known {
                log("node \(n.id) became leader of term \(raw.raft.term)")
                try history.checkLeaderCompleteness(raw.raft)
            }
        }
    }

    /// Entries newly applied somewhere must already be in every current leader of a later term.
    func checkNewlyCommitted(from start: UInt64) throws {
        guard start <= history.maxApplied else { return }
        for n in nodes {
            guard let raw = n.node, raw.raft.state == .leader else { continue }
            try history.checkLeaderCompleteness(raw.raft, from: start)
        }
    }
}
