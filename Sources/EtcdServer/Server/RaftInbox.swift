import Foundation
import Raft

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
        case unreachable(UInt64)
        case snapshotStatus(UInt64, succeeded: Bool)
        case receivedSnapshot(Message, databasePath: String)
        /// The leader's view of each member's log (match index), for promoting learners.
        case progress(CheckedContinuation<[UInt64: UInt64], Never>)
    }

    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false

    /// Adds an item; false once the loop is stopping.
    @discardableResult
    func add(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        items.append(item)
        if items.count == 1 { condition.signal() }
        return true
    }

    /// Waits until `deadline` for items and takes them all; nil once closed.
    func take(until deadline: Date) -> [Item]? {
        condition.lock()
        defer { condition.unlock() }
        if items.isEmpty && !closed { _ = condition.wait(until: deadline) }
        if closed && items.isEmpty { return nil }
        defer { items.removeAll(keepingCapacity: true) }
        return items
    }

    /// Wakes the loop without adding anything.
    func poke() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
