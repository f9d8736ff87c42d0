import Synchronization

/// What a closed-loop load run measured: every request's latency, by kind, and its errors.
public struct LoadResult: Sendable {
    /// Latencies in nanoseconds, indexed by the kind the request returned (0 for most
    /// workloads; txn-mixed uses 0 for reads and 1 for writes).
    public var latenciesByKind: [[UInt64]]
    /// Requests that threw.
    public var errorCount = 0
    /// Error descriptions and their counts (the first few distinct ones per client).
    public var errorMessages: [String: Int] = [:]
    /// Monotonic time of the first request's start.
    public var startNanoseconds: UInt64 = .max
    /// Monotonic time of the last request's end.
    public var endNanoseconds: UInt64 = 0

    /// Every latency, whatever its kind.
    public var allLatencies: [UInt64] { latenciesByKind.flatMap { $0 } }
    /// Requests finished, failed or not.
    public var requestCount: Int { latenciesByKind.reduce(0) { $0 + $1.count } }
    /// Wall time of the run in seconds.
    public var durationSeconds: Double {
        endNanoseconds > startNanoseconds ? Double(endNanoseconds - startNanoseconds) / 1e9 : 0
    }

    init(kinds: Int) { latenciesByKind = Array(repeating: [], count: kinds) }

    mutating func merge(_ other: LoadResult) {
        for kind in latenciesByKind.indices { latenciesByKind[kind].append(contentsOf: other.latenciesByKind[kind]) }
        errorCount += other.errorCount
        errorMessages.merge(other.errorMessages, uniquingKeysWith: +)
        startNanoseconds = min(startNanoseconds, other.startNanoseconds)
        endNanoseconds = max(endNanoseconds, other.endNanoseconds)
    }
}

/// Drives a closed loop: `clients` tasks each take the next request number from a shared
/// counter, wait for the rate limiter if any, time the request and repeat, until `total`
/// requests were issued (or `isDone` says so). Per request it costs one atomic increment,
/// two clock reads and an append to the client's own preallocated array.
public enum LoadRunner {
    /// Distinct error messages kept per client (the count covers all errors).
    static let keptMessagesPerClient = 8

    /// Runs the loop. `request(client, index)` performs request number `index` on behalf of
    /// client `client` and returns its kind (`< kinds`). `isDone`, when given, is asked
    /// before each request; a client stops once it returns true.
    public static func run(
        clients: Int, total: Int, kinds: Int = 1, rate: RateLimiter? = nil,
        isDone: (@Sendable () -> Bool)? = nil,
        request: @escaping @Sendable (_ client: Int, _ index: Int) async throws -> Int
    ) async -> LoadResult {
        let next = SharedCounter()
        let perClient = min(total / max(clients, 1), 1 << 20) + 1
        return await withTaskGroup(of: LoadResult.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var result = LoadResult(kinds: kinds)
                    for kind in 0..<kinds {
                        result.latenciesByKind[kind].reserveCapacity(kinds == 1 ? perClient : perClient / 2)
                    }
                    while isDone?() != true {
                        let index = next.add(1)
                        if index >= total { break }
                        if let rate { await rate.wait() }
                        let start = monotonicNanoseconds()
                        var kind = 0
                        do {
                            kind = try await request(client, index)
                        } catch {
                            result.errorCount += 1
                            if result.errorMessages.count < keptMessagesPerClient {
                                result.errorMessages[String(describing: error), default: 0] += 1
                            } else {
                                let message = String(describing: error)
                                if result.errorMessages[message] != nil { result.errorMessages[message]! += 1 }
                            }
                        }
                        let end = monotonicNanoseconds()
                        if start < result.startNanoseconds { result.startNanoseconds = start }
                        result.endNanoseconds = end
                        result.latenciesByKind[kind].append(end &- start)
                    }
                    return result
                }
            }
            var merged = LoadResult(kinds: kinds)
            for await partial in group { merged.merge(partial) }
            return merged
        }
    }
}
