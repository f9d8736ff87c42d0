import Foundation

/// Proposals waiting for the log loop. Any thread may add; the loop takes them all at once,
/// which is what turns many concurrent requests into one WAL write and one fsync.
final class ProposalQueue: @unchecked Sendable {
    // @unchecked: all state is guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [[UInt8]] = []
    private var closed = false

    /// Adds an encoded request; false when the queue is closed (the server is stopping).
    func add(_ data: [UInt8]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        pending.append(data)
        if pending.count == 1 { condition.signal() }
        return true
    }

    /// Waits up to `timeout` seconds for proposals and takes every one that is waiting.
    /// Returns nil once the queue is closed and drained.
    func takeAll(waitingAtMost timeout: TimeInterval) -> [[UInt8]]? {
        condition.lock()
        defer { condition.unlock() }
        if pending.isEmpty && !closed {
            _ = condition.wait(until: Date().addingTimeInterval(timeout))
        }
        if pending.isEmpty && closed { return nil }
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
