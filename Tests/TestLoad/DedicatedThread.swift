import Foundation

/// Runs CPU-bound synchronous `work` on a thread of its own and awaits its result.
///
/// Swift Testing runs async tests on the cooperative pool, which has one thread per core:
/// a test that computes for half a minute on it (the Raft simulation) leaves every other
/// test's continuations, timers included, waiting for that long. On its own thread the work
/// shares the cores through the OS scheduler instead. With `nice` above 0 it also gives way
/// to the servers other tests start: a simulation is background work, a member that misses
/// its heartbeats fails a test.
public func onDedicatedThread<T: Sendable>(
    _ name: String, nice: Int32 = 0, _ work: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            // On Linux the nice value is per thread, and `who == 0` is the calling thread.
            if nice > 0 { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) }
            continuation.resume(with: Result { try work() })
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }
}
