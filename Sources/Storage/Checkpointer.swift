import Foundation
import Timing

/// Moves pages from SQLite's WAL file into the database on a background thread. Checkpoints
/// are where SQLite fsyncs in `synchronous=NORMAL` mode; doing them here keeps those fsyncs
/// off the apply path. Passive checkpoints never block the writer or readers.
final class Checkpointer: @unchecked Sendable {
    // @unchecked: `connection` is only used on the checkpoint thread; the counters are
    // guarded by `condition`.
    private let connection: SQLiteConnection
    private let condition = MonotonicCondition()
    private var commitsSinceCheckpoint = 0
    private var stopping = false
    private var finished = false
    /// Commits after which a checkpoint starts even before the interval has passed.
    private let commitThreshold = 512
    private let interval: Duration = .seconds(1)

    init(path: String) throws {
        connection = try SQLiteConnection(path: path)
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "swetcd-checkpoint"
        thread.start()
    }

    func noteCommit() {
        condition.lock()
        commitsSinceCheckpoint += 1
        if commitsSinceCheckpoint >= commitThreshold { condition.signal() }
        condition.unlock()
    }

    /// Stops the thread and waits for it to finish its current checkpoint.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        connection.close()
    }

    private func run() {
        condition.lock()
        while !stopping {
            if commitsSinceCheckpoint < commitThreshold {
                condition.wait(until: .now + interval)
            }
            if stopping { break }
            let pending = commitsSinceCheckpoint
            commitsSinceCheckpoint = 0
            guard pending > 0 else { continue }
            condition.unlock()
            try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            condition.lock()
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
