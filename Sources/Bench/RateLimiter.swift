import Synchronization

/// Spaces requests evenly at `perSecond` across all clients sharing it: each request
/// reserves the next free slot on a shared timeline and sleeps until it. Idle time is not
/// banked, so there are no bursts after a pause.
public final class RateLimiter: Sendable {
    private let interval: UInt64
    private let nextSlot = Atomic<UInt64>(0)

    /// A limiter for `perSecond` requests a second (must be positive).
    public init(perSecond: Int) {
        precondition(perSecond > 0)
        interval = max(1, 1_000_000_000 / UInt64(perSecond))
    }

    /// Waits for this request's slot.
    public func wait() async {
        let now = monotonicNanoseconds()
        var slot = nextSlot.load(ordering: .relaxed)
        while true {
            let mine = max(slot, now)
            let (exchanged, original) = nextSlot.compareExchange(
                expected: slot, desired: mine + interval, ordering: .relaxed)
            if exchanged {
                slot = mine
                break
            }
            slot = original
        }
        if slot > now {
            try? await Task.sleep(for: .nanoseconds(Int64(slot - now)))
        }
    }
}
