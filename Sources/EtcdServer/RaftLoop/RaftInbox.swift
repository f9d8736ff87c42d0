import Foundation
import Raft
import Synchronization
import Timing

/// Work handed to the Raft loop by other threads: peer messages, proposals, read requests,
/// membership changes and reports. The loop drains it all at once, which is what batches
/// many requests into one Ready, one WAL write and one fsync.
final class RaftInbox: @unchecked Sendable {
    // @unchecked: all state is guarded by `condition`.
    enum Item {
        case messages([Message])
        case proposal(id: UInt64, data: [UInt8])
        case confChange(id: UInt64, ConfChange)
        case read(ReadRequest)
        case transferLeadership(to: UInt64)
        /// Starts an election at once (a lone voter starting up).
        case campaign
        case unreachable(UInt64)
        case snapshotStatus(UInt64, succeeded: Bool)
        /// A snapshot whose database was received and verified; `decided` hears why Raft
        /// refused it, or nil when it is to be installed (the loop then owns the file).
        case receivedSnapshot(Message, databasePath: String, decided: CheckedContinuation<String?, Never>)
        /// The leader's view of each member's log (match index), for promoting learners.
        case progress(CheckedContinuation<[UInt64: UInt64], Never>)
    }

    private let condition = MonotonicCondition()
    private var items: [Item] = []
    private var closed = false
    /// Whether `items` holds anything, readable without the lock (for the polling in `take`).
    private let hasItems = Atomic<Bool>(false)
    /// How long `take` polls before it sleeps. The loop's thread only.
    private var polling = IdlePolling()

    /// Adds an item; false once the loop is stopping.
    @discardableResult
    func add(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        items.append(item)
        if items.count == 1 {
            hasItems.store(true, ordering: .releasing)
            condition.signal()
        }
        return true
    }

    /// Waits until `deadline` (monotonic: a wall clock stepped back does not stretch the
    /// wait) for items and takes them all; nil once closed. The loop's thread only.
    func take(until deadline: ContinuousClock.Instant) -> [Item]? {
        var idleSince: ContinuousClock.Instant?
        if !hasItems.load(ordering: .acquiring) {
            let now = ContinuousClock.now
            idleSince = now
            let pollUntil = now + polling.budget
            // Yielding keeps the polling from taking the core from a thread with work to do.
            while !hasItems.load(ordering: .acquiring) && ContinuousClock.now < pollUntil { sched_yield() }
        }
        condition.lock()
        defer { condition.unlock() }
        if items.isEmpty && !closed { condition.wait(until: deadline) }
        if closed && items.isEmpty { return nil }
        if let idleSince, !items.isEmpty { polling.record(gap: .now - idleSince) }
        hasItems.store(false, ordering: .relaxed)
        defer { items.removeAll(keepingCapacity: true) }
        return items
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
