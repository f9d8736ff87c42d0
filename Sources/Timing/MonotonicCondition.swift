#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex and condition variable whose timed waits run on the monotonic clock.
///
/// Foundation's `NSCondition.wait(until:)` takes a `Date`: it waits on the wall clock, so
/// a clock stepped backwards (NTP, an operator, a VM resumed from a snapshot) turns a wait
/// of milliseconds into one of hours. Waits here take a `ContinuousClock` deadline and are
/// unaffected by the wall clock.
public final class MonotonicCondition: @unchecked Sendable {
    // @unchecked: the pthread objects are used only through their own locking.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if !canImport(Darwin)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    /// Wakes one waiting thread (call with the lock held).
    public func signal() { pthread_cond_signal(condition) }
    /// Wakes every waiting thread (call with the lock held).
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// Waits, with the lock held, until signalled (or woken spuriously).
    public func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits, with the lock held, until signalled or until `deadline`; false when the
    /// deadline passed. Like any condition wait it may return early: check the predicate.
    @discardableResult
    public func wait(until deadline: ContinuousClock.Instant) -> Bool {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return false }
        let nanoseconds = Self.nanoseconds(remaining)
        #if canImport(Darwin)
        var relative = timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        return pthread_cond_timedwait_relative_np(condition, mutex, &relative) == 0
        #else
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Int(now.tv_nsec) + nanoseconds % 1_000_000_000
        var absolute = timespec()
        absolute.tv_sec = now.tv_sec + nanoseconds / 1_000_000_000 + total / 1_000_000_000
        absolute.tv_nsec = total % 1_000_000_000
        return pthread_cond_timedwait(condition, mutex, &absolute) == 0
        #endif
    }

    /// A positive duration in whole nanoseconds, capped at about 292 years.
    private static func nanoseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64(Int.max / 1_000_000_000) - 1 else { return Int.max / 2 }
        return Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    }
}
