import Foundation
import Timing

/// A thread that sleeps until the next deadline it is given and then fires: the lessor's
/// clock for expiring leases. Its waits are on the monotonic clock.
final class ExpiryTimer: @unchecked Sendable {
    // @unchecked: `running`, `stopping` and `woken` are guarded by `condition`.
    private let condition = MonotonicCondition()
    private var running = false
    private var stopping = false
    private var woken = false

    /// Starts the thread: it waits until `nextDeadline()` (forever when nil, until woken),
    /// then calls `fire`, and again, until `stop()`.
    func start(nextDeadline: @escaping @Sendable () -> ContinuousClock.Instant?, fire: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        guard !running else { return }
        running = true
        stopping = false
        let thread = Thread { [self] in
            while waitForDeadline(nextDeadline()) { fire() }
            condition.lock()
            running = false
            condition.broadcast()
            condition.unlock()
        }
        thread.name = "swetcd-lease-expiry"
        thread.start()
    }

    /// Makes the thread look at the next deadline again (one earlier than it waits for may
    /// have been added).
    func wake() {
        condition.lock()
        woken = true
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread and waits until it has.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    /// Waits until `deadline` or a wake-up; false once stopping.
    private func waitForDeadline(_ deadline: ContinuousClock.Instant?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !woken && !stopping {
            if let deadline { condition.wait(until: deadline) } else { condition.wait() }
        }
        woken = false
        return !stopping
    }
}
