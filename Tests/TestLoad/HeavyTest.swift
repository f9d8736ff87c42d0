import Testing

/// A share of the machine a test takes while it runs: Swift Testing runs suites in parallel,
/// and on a 2-core machine several clusters electing leaders at once starve each other into
/// election and request timeouts. Tests that start servers or burn CPU declare their weight
/// (`.load(3)` for a three-member cluster, `.load(1)` for one server); at most
/// `HeavyTest.capacity` units run at a time, while light tests run freely beside them.
///
/// The trait also bounds each test's run time, counted from when it got its units (Swift
/// Testing's `.timeLimit` would count the wait for them too).
public struct HeavyTest: TestTrait, SuiteTrait, TestScoping {
    /// Units that may run at once: one cluster, or a few single servers.
    public static let capacity = 4

    let units: Int
    let limit: Duration

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // A suite's own scope takes nothing: each of its tests takes its units.
        guard !test.isSuite else { return try await function() }
        let units = min(self.units, Self.capacity)
        await LoadGate.shared.acquire(units)
        do {
            try Task.checkCancellation()
            // The group waits for both children, so `function` does not outlive this call.
            try await withoutActuallyEscaping(function) { body in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await body() }
                    group.addTask { [limit] in
                        try await Task.sleep(for: limit)
                        throw RunTimeExceeded(limit: limit)
                    }
                    defer { group.cancelAll() }
                    try await group.next()
                }
            }
        } catch {
            await LoadGate.shared.release(units)
            throw error
        }
        await LoadGate.shared.release(units)
    }
}

/// A heavy test ran longer than its limit (it is cancelled).
public struct RunTimeExceeded: Error, CustomStringConvertible {
    let limit: Duration
    public var description: String { "the test ran longer than its limit of \(limit) once it had its share of the machine" }
}

extension Trait where Self == HeavyTest {
    /// The test (or each test of the suite) takes `units` of the machine while it runs, and
    /// is cancelled if it runs longer than `limit` from then.
    public static func load(_ units: Int, limit: Duration = .seconds(300)) -> HeavyTest { HeavyTest(units: units, limit: limit) }
}

/// A counting semaphore for async tasks, first come first served.
actor LoadGate {
    static let shared = LoadGate(capacity: HeavyTest.capacity)

    private var available: Int
    private var waiting: [(units: Int, resume: CheckedContinuation<Void, Never>)] = []

    init(capacity: Int) { available = capacity }

    func acquire(_ units: Int) async {
        if waiting.isEmpty && available >= units {
            available -= units
            return
        }
        await withCheckedContinuation { waiting.append((units, $0)) }
    }

    func release(_ units: Int) {
        available += units
        while let first = waiting.first, first.units <= available {
            waiting.removeFirst()
            available -= first.units
            first.resume.resume()
        }
    }
}
