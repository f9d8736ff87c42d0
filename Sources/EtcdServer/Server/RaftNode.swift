import Foundation
import Logging
import Raft
import Synchronization
import Transport
import WAL

/// The Raft loop of a member. One thread owns the Raft state machine: it feeds it ticks,
/// peer messages and proposals, and handles each `Ready` in the order Raft requires —
/// persist to the WAL (one fsync for the whole batch; a leader sends its messages first, a
/// follower after), apply what is committed, serve the linearizable reads whose index is
/// applied.
final class RaftNode: @unchecked Sendable {
    // @unchecked: everything but the inbox, the atomics and `leadership` is confined to the
    // loop thread (or to the starting thread before `start()`).

    struct Settings {
        var heartbeat: Duration
        var electionTicks: Int
        /// Take a snapshot after this many applied entries (etcd's --snapshot-count).
        var snapshotCount: UInt64
        /// Entries kept in the log behind a snapshot so slow followers catch up without one.
        var catchUpEntries: UInt64
        var maxSnapshots: Int
        var maxWALs: Int
    }

    let id: UInt64
    let node: RawNode
    let storage: MemoryStorage
    private let wal: WAL
    let snapshotter: Snapshotter
    let applier: EntryApplier
    let transport: PeerTransport
    private let settings: Settings
    let logger: Logger
    let metrics: ServerMetrics
    let inbox = RaftInbox()

    private let committed: Atomic<UInt64>
    private let applied: Atomic<UInt64>
    private let currentTerm: Atomic<UInt64>
    private let currentLeader: Atomic<UInt64>
    private let leading = Atomic(false)
    private let finished = NSCondition()
    private var running = false

    /// Called on the loop thread when the leader changes: (new leader, this member leads).
    var onLeaderChange: ((UInt64, Bool) -> Void)?

    // Linearizable reads: waiting for a ReadIndex round, in one, confirmed at an index.
    private var pendingReads: [ReadRequest] = []
    private var readRound: (context: UInt64, reads: [ReadRequest], issued: ContinuousClock.Instant)?
    private var confirmedReads: [(index: UInt64, reads: [ReadRequest])] = []
    private var nextReadContext: UInt64 = 0
    /// Snapshot databases received from the leader, by snapshot index, until Raft takes them.
    var receivedDatabases: [UInt64: String] = [:]
    var snapshotIndex: UInt64
    var confState: ConfState

    init(
        id: UInt64, node: RawNode, storage: MemoryStorage, wal: WAL, snapshotter: Snapshotter, applier: EntryApplier,
        transport: PeerTransport, settings: Settings, metrics: ServerMetrics, logger: Logger
    ) {
        self.id = id
        self.node = node
        self.storage = storage
        self.wal = wal
        self.snapshotter = snapshotter
        self.applier = applier
        self.transport = transport
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        let hardState = storage.hardState
        committed = Atomic(hardState.commit)
        applied = Atomic(applier.appliedIndex)
        currentTerm = Atomic(hardState.term)
        currentLeader = Atomic(0)
        snapshotIndex = storage.latestSnapshot.metadata.index
        confState = storage.latestSnapshot.metadata.confState
    }

    // MARK: Observations (any thread)

    var term: UInt64 { currentTerm.load(ordering: .acquiring) }
    var leader: UInt64 { currentLeader.load(ordering: .acquiring) }
    var isLeader: Bool { leading.load(ordering: .acquiring) }
    var committedIndex: UInt64 { committed.load(ordering: .acquiring) }
    var appliedIndex: UInt64 { applied.load(ordering: .acquiring) }

    // MARK: Lifecycle

    func start() {
        running = true
        let thread = Thread { [self] in run() }
        thread.name = "swetcd-raft"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Stops the loop after the batch in progress, fails waiting reads, closes the WAL.
    func stop() {
        inbox.close()
        finished.lock()
        while running { finished.wait() }
        finished.unlock()
        for read in pendingReads + (readRound?.reads ?? []) + confirmedReads.flatMap(\.reads) {
            read.finish(.stopped)
        }
        try? wal.close()
    }

    /// Starts an election now (a lone voter need not wait an election timeout).
    func campaignSoon() {
        inbox.add(.campaign)
    }

    /// A campaign asked for, started after the loop's next batch is applied. Loop thread only.
    private var campaignPending = false

    // MARK: The loop

    private func run() {
        let interval = TimeInterval(settings.heartbeat.components.seconds)
            + TimeInterval(settings.heartbeat.components.attoseconds) / 1e18
        var nextTick = Date().addingTimeInterval(interval)
        while let items = inbox.take(until: nextTick) {
            for item in items { handle(item) }
            let now = Date()
            if now >= nextTick {
                node.tick()
                nextTick = max(nextTick.addingTimeInterval(interval), now)
            }
            advance()
            serveReads()
        }
        finished.lock()
        running = false
        finished.broadcast()
        finished.unlock()
    }

    /// Persists, sends and applies what Raft has ready, then starts a campaign asked for.
    /// A failure to persist or apply is fatal: the member cannot go on consistently.
    private func advance() {
        do {
            try processReady()
            if campaignPending {
                // Raft declines to campaign while configuration changes wait to be applied
                // (a restart re-applies those after the snapshot), so the election starts
                // once what is committed has been applied above.
                campaignPending = false
                try? node.campaign()
                try processReady()
            }
        } catch {
            logger.critical("failed to persist or apply Raft state", metadata: ["error": "\(error)"])
            fatalError("swetcd: failed to persist or apply Raft state: \(error)")
        }
    }

    private func handle(_ item: RaftInbox.Item) {
        switch item {
        case .messages(let messages):
            for message in messages { step(message) }
        case .proposal(let id, let data):
            do {
                try node.propose(data)
            } catch {
                metrics.proposalsFailed.increment()
                applier.waits.trigger(id, .failure(.proposalDropped))
            }
        case .confChange(let id, let change):
            do {
                try node.proposeConfChange(change)
            } catch {
                metrics.proposalsFailed.increment()
                applier.waits.trigger(id, .failure(.proposalDropped))
            }
        case .read(let request):
            pendingReads.append(request)
        case .campaign:
            campaignPending = true
        case .transferLeadership(let target):
            node.transferLeadership(to: target)
        case .unreachable(let peer):
            node.reportUnreachable(peer)
        case .snapshotStatus(let peer, let succeeded):
            node.reportSnapshot(peer, status: succeeded ? .finish : .failure)
        case .progress(let continuation):
            let status = node.status()
            continuation.resume(returning: status.progress.mapValues(\.match))
        case .receivedSnapshot(let message, let path, let decided):
            decided.resume(returning: stepSnapshot(message, databasePath: path))
        }
    }

    private func processReady() throws {
        while node.hasReady() {
            let ready = node.ready()
            if let soft = ready.softState { leadershipChanged(soft) }
            // A leader replicates while it persists (Raft thesis 10.2.1): its entries count
            // toward commitment only once this loop has written them, and it steps no
            // follower's answer before that. A follower answers only what it has persisted.
            let sendsFirst = isLeader
            if sendsFirst { send(ready.messages) }
            if let snapshot = ready.snapshot, !snapshot.isEmpty {
                try snapshotter.save(snapshot)
                try wal.saveSnapshot(SnapshotMarker(snapshot.metadata))
                try storage.applySnapshot(snapshot)
            }
            try wal.save(hardState: ready.hardState, entries: ready.entries)
            if ready.mustSync {
                let start = ContinuousClock.now
                try wal.sync()
                metrics.walFsyncDuration.recordInterval(since: start)
            }
            if let hardState = ready.hardState {
                storage.setHardState(hardState)
                committed.store(hardState.commit, ordering: .releasing)
                currentTerm.store(hardState.term, ordering: .releasing)
                metrics.proposalsCommitted.record(hardState.commit)
            }
            if !ready.entries.isEmpty { storage.append(ready.entries) }
            if !sendsFirst { send(ready.messages) }
            if let snapshot = ready.snapshot, !snapshot.isEmpty {
                try installSnapshot(snapshot)
            }
            try applier.apply(ready.committedEntries)
            applied.store(applier.appliedIndex, ordering: .releasing)
            metrics.proposalsApplied.record(applier.appliedIndex)
            for state in ready.readStates { confirmRead(state) }
            node.advance()
        }
        refreshSnapshotConfiguration()
        maybeSnapshot()
    }

    private func leadershipChanged(_ soft: SoftState) {
        let previous = currentLeader.exchange(soft.lead, ordering: .acquiringAndReleasing)
        let isLeader = soft.raftState == .leader
        leading.store(isLeader, ordering: .releasing)
        metrics.hasLeader.record(soft.lead == 0 ? 0 : 1)
        metrics.isLeader.record(isLeader ? 1 : 0)
        guard previous != soft.lead else { return }
        if let round = readRound {
            // The read index was asked of a leader that is gone (etcd: leader changed).
            readRound = nil
            for read in round.reads { read.finish(.leaderChanged) }
        }
        if soft.lead != 0 {
            metrics.leaderChanges.increment()
            logger.info(
                "raft.node: elected leader",
                metadata: ["local-member-id": "\(hex(id))", "leader": "\(hex(soft.lead))", "term": "\(node.term)"])
        } else {
            logger.info("raft.node: lost leader", metadata: ["local-member-id": "\(hex(id))", "term": "\(node.term)"])
        }
        onLeaderChange?(soft.lead, isLeader)
    }

    // MARK: Messages and snapshots

    /// The leader's match index for every member (empty on followers).
    func progress() async -> [UInt64: UInt64] {
        await withCheckedContinuation { continuation in
            if !inbox.add(.progress(continuation)) { continuation.resume(returning: [:]) }
        }
    }

    /// Records the configuration after a membership change (for the next snapshot).
    func applyConfChange(_ change: ConfChange) throws -> ConfState {
        let state = try node.applyConfChange(change)
        confState = state
        configurationChanged = true
        return state
    }

    /// A membership change was applied since the in-memory snapshot was last refreshed.
    private var configurationChanged = false

    /// Raft sends followers the stored snapshot, and a follower ignores one whose
    /// configuration does not list it: after a membership change, the in-memory snapshot is
    /// refreshed at the applied index (cheap: its data is the backend, copied when sent).
    private func refreshSnapshotConfiguration() {
        guard configurationChanged else { return }
        configurationChanged = false
        let applied = applier.appliedIndex
        guard applied > storage.latestSnapshot.metadata.index, applied <= storage.lastIndex() else { return }
        _ = try? storage.createSnapshot(at: applied, confState: confState, data: [])
    }

    /// Takes a snapshot once enough entries were applied since the last one, then compacts
    /// the in-memory log and purges old WAL segments and snapshot files.
    private func maybeSnapshot() {
        let applied = applier.appliedIndex
        guard applied > snapshotIndex, applied - snapshotIndex >= settings.snapshotCount else { return }
        do {
            let snapshot = try storage.createSnapshot(at: applied, confState: confState, data: [])
            try snapshotter.save(snapshot)
            try wal.saveSnapshot(SnapshotMarker(snapshot.metadata))
            snapshotIndex = applied
            if applied > settings.catchUpEntries {
                try? storage.compact(applied - settings.catchUpEntries)
            }
            snapshotter.purge(keep: settings.maxSnapshots)
            // WAL segments go only when every snapshot still kept can open the log without them.
            if let oldest = snapshotter.oldestSnapshotIndex(), (try? wal.segmentFiles().count) ?? 0 > settings.maxWALs {
                _ = try? wal.removeSegments(coveredBy: oldest)
            }
            logger.info("saved snapshot", metadata: ["snapshot-index": "\(applied)"])
        } catch {
            logger.error("failed to save snapshot", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Linearizable reads

    /// One ReadIndex round serves every read waiting when it starts; a round that got no
    /// answer (leader change, lost message) is re-issued.
    private func serveReads() {
        let now = ContinuousClock.now
        if let round = readRound, now - round.issued > settings.heartbeat * 5 {
            // No answer: the leader may have changed. Ask again for the same reads.
            readRound = nil
            pendingReads.insert(contentsOf: round.reads, at: 0)
        }
        pendingReads.removeAll { request in
            if request.deadline <= now {
                request.finish(.timeout)
                return true
            }
            return request.isDone
        }
        if readRound == nil && !pendingReads.isEmpty {
            nextReadContext += 1
            readRound = (nextReadContext, pendingReads, now)
            pendingReads = []
            node.readIndex(Snapshotter.bigEndian(nextReadContext))
            advance()
        }
        let appliedNow = applier.appliedIndex
        confirmedReads.removeAll { confirmed in
            guard confirmed.index <= appliedNow else { return false }
            for read in confirmed.reads { read.finish() }
            return true
        }
    }

    private func confirmRead(_ state: ReadState) {
        guard let round = readRound, state.requestContext == Snapshotter.bigEndian(round.context) else { return }
        readRound = nil
        confirmedReads.append((state.index, round.reads))
    }
}

func hex(_ id: UInt64) -> String { String(id, radix: 16) }
