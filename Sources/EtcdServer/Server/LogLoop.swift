import Foundation
import Logging
import Raft
import Synchronization
import WAL

/// The single-member log: proposals become entries of the current term, are written to the
/// WAL with one fsync per batch (group commit), are then committed (a one-member quorum)
/// and applied in order. It is shaped like the Raft node loop it will become: take
/// everything that is ready, persist it, then apply what is committed.
final class LogLoop: @unchecked Sendable {
    // @unchecked: `wal`, `applier`, `lastIndex` and `hardState` are confined to the loop
    // thread once `start()` was called (and to the starting thread before it); the indexes
    // others read are atomics.
    private let wal: WAL
    private let applier: EntryApplier
    private let logger: Logger
    let metrics: ServerMetrics
    private let queue = ProposalQueue()
    private var hardState: HardState
    private var lastIndex: UInt64
    private let committed: Atomic<UInt64>
    private let applied: Atomic<UInt64>
    private let finished = NSCondition()
    private var running = false
    /// Longest time the loop sleeps when idle; bounds how late it notices `stop()`.
    private let idleWait: TimeInterval = 0.5

    init(wal: WAL, applier: EntryApplier, hardState: HardState, lastIndex: UInt64, metrics: ServerMetrics, logger: Logger) {
        self.wal = wal
        self.metrics = metrics
        self.applier = applier
        self.hardState = hardState
        self.lastIndex = lastIndex
        self.logger = logger
        committed = Atomic(hardState.commit)
        applied = Atomic(applier.appliedIndex)
    }

    /// The current term (bumped once per start of a single member, like an election).
    var term: UInt64 { hardState.term }
    var committedIndex: UInt64 { committed.load(ordering: .acquiring) }
    var appliedIndex: UInt64 { applied.load(ordering: .acquiring) }

    /// Enters a new term, as a lone member does by winning its own election.
    func beginTerm(_ term: UInt64, voteFor id: UInt64) {
        hardState.term = term
        hardState.vote = id
    }

    /// Appends, persists, commits and applies entries synchronously on the calling thread.
    /// Used before `start()` (bootstrap and restart entries) and by the loop itself.
    func appendAndApply(_ payloads: [(type: EntryType, data: [UInt8])]) throws {
        guard !payloads.isEmpty else { return }
        var entries: [Entry] = []
        entries.reserveCapacity(payloads.count)
        for payload in payloads {
            lastIndex += 1
            entries.append(Entry(term: hardState.term, index: lastIndex, type: payload.type, data: payload.data))
        }
        hardState.commit = lastIndex
        try wal.save(hardState: hardState, entries: entries)
        let syncStart = ContinuousClock.now
        try wal.sync()
        metrics.walFsyncDuration.recordInterval(since: syncStart)
        committed.store(lastIndex, ordering: .releasing)
        metrics.proposalsCommitted.record(lastIndex)
        try applier.apply(entries)
        applied.store(applier.appliedIndex, ordering: .releasing)
        metrics.proposalsApplied.record(applier.appliedIndex)
    }

    /// Re-applies entries already in the WAL that the backend had not applied yet.
    func replay(_ entries: [Entry]) throws {
        try applier.apply(entries)
        applied.store(applier.appliedIndex, ordering: .releasing)
    }

    /// Queues an encoded request; false when the loop is stopping.
    func propose(_ data: [UInt8]) -> Bool {
        queue.add(data)
    }

    func start() {
        running = true
        let thread = Thread { [self] in run() }
        thread.name = "swetcd-log"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Stops taking proposals, finishes the batch in progress and closes the WAL.
    func stop() {
        queue.close()
        finished.lock()
        while running { finished.wait() }
        finished.unlock()
        try? wal.close()
    }

    private func run() {
        while let batch = queue.takeAll(waitingAtMost: idleWait) {
            guard !batch.isEmpty else { continue }
            do {
                try appendAndApply(batch.map { (.normal, $0) })
            } catch {
                // A log that can't be written or applied can't be trusted with more writes.
                logger.critical("failed to persist or apply log entries", metadata: ["error": "\(error)"])
                fatalError("swetcd: failed to persist or apply log entries: \(error)")
            }
        }
        finished.lock()
        running = false
        finished.broadcast()
        finished.unlock()
    }
}
