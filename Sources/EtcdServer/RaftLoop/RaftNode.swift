import EtcdProto
import Foundation
import Lease
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
        /// What a new leader adds to every lease's TTL (etcd: one election timeout).
        var electionTimeout: Duration
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
    let wal: WAL
    let snapshotter: Snapshotter
    let applier: EntryApplier
    let transport: PeerTransport
    let inbox: RaftInbox
    let lessor: Lessor
    let membership: Membership
    let stopRequests: StopRequests
    let settings: Settings
    let logger: Logger
    let metrics: ServerMetrics

    let committed: Atomic<UInt64>
    private let applied: Atomic<UInt64>
    let currentTerm: Atomic<UInt64>
    let currentLeader: Atomic<UInt64>
    let leading = Atomic(false)
    let published = Atomic(false)
    private let finished = NSCondition()
    private var running = false
    var reads: ReadIndexBatcher
    /// Snapshot databases received from the leader, by snapshot index, until Raft takes them.
    var receivedDatabases: [UInt64: String] = [:]
    var snapshotIndex: UInt64
    var confState: ConfState
    /// A membership change was applied since the in-memory snapshot was last refreshed.
    var configurationChanged = false

    init(
        id: UInt64, node: RawNode, storage: MemoryStorage, wal: WAL, snapshotter: Snapshotter, applier: EntryApplier,
        transport: PeerTransport, inbox: RaftInbox, lessor: Lessor, membership: Membership, stopRequests: StopRequests,
        settings: Settings, metrics: ServerMetrics, logger: Logger
    ) {
        self.id = id
        self.node = node
        self.storage = storage
        self.wal = wal
        self.snapshotter = snapshotter
        self.applier = applier
        self.transport = transport
        self.inbox = inbox
        self.lessor = lessor
        self.membership = membership
        self.stopRequests = stopRequests
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
        reads = ReadIndexBatcher(retryAfter: settings.heartbeat * 5)
    }

    // MARK: Observations (any thread)

    var term: UInt64 { currentTerm.load(ordering: .acquiring) }
    var leader: UInt64 { currentLeader.load(ordering: .acquiring) }
    var isLeader: Bool { leading.load(ordering: .acquiring) }
    var committedIndex: UInt64 { committed.load(ordering: .acquiring) }
    var appliedIndex: UInt64 { applied.load(ordering: .acquiring) }
    /// Whether this member's name and client URLs were applied (it then serves clients).
    var isPublished: Bool { published.load(ordering: .acquiring) }

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
        reads.failAll(.stopped)
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
        // The monotonic clock: ticks (heartbeats, election timeouts) go on however the wall
        // clock is stepped.
        let interval = settings.heartbeat
        var nextTick = ContinuousClock.now + interval
        while let items = inbox.take(until: nextTick) {
            for item in items { handle(item) }
            let now = ContinuousClock.now
            if now >= nextTick {
                node.tick()
                nextTick = max(nextTick + interval, now)
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
            reads.add(request)
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
            try follow(try applier.apply(ready.committedEntries))
            applied.store(applier.appliedIndex, ordering: .releasing)
            metrics.proposalsApplied.record(applier.appliedIndex)
            for state in ready.readStates { reads.confirm(state) }
            node.advance()
        }
        refreshSnapshotConfiguration()
        maybeSnapshot()
    }

    // MARK: Progress and reads

    /// The leader's match index for every member (empty on followers).
    func progress() async -> [UInt64: UInt64] {
        await withCheckedContinuation { continuation in
            if !inbox.add(.progress(continuation)) { continuation.resume(returning: [:]) }
        }
    }

    /// Starts a ReadIndex round for the reads waiting, if none is in flight, and lets those
    /// whose read index is applied run.
    private func serveReads() {
        if let context = reads.startRound(now: .now) {
            node.readIndex(context)
            advance()
        }
        reads.release(appliedIndex: applier.appliedIndex)
    }
}

func hex(_ id: UInt64) -> String { String(id, radix: 16) }
