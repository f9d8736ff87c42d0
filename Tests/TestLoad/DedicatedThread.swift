import Foundation

/// Runs CPU-bound synchronous `work` on a thread of its own and awaits its result.
///
/// Swift Testing runs async tests on the cooperative pool, which has one thread per core:
/// a test that computes for half a minute on it (the Raft simulation) leaves every other
/// test's continuations, timers included, waiting for that long. On its own thread the work
/// shares the cores through the OS scheduler instead.
public func onDedicatedThread<T: Sendable>(
    _ name: String, _ work: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try work() })
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }
}
