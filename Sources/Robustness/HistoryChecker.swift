import Foundation

/// The linearizability result of one key's operations.
public struct KeyResult: Sendable {
    public var key: String
    public var operations: Int
    /// Operations with an unknown response time (pending forever).
    public var pending: Int
    public var result: LinearizabilityResult
    public var seconds: Double
    /// For a violation: the counterexample, one line per operation.
    public var explanation: [String]
}

/// What the watch streams told about failed writes.
public struct PatchSummary: Sendable, Hashable {
    /// Failed operations whose request never left the client, dropped.
    public var notSent = 0
    /// Failed reads, dropped: a read that returned nothing changed nothing.
    public var droppedReads = 0
    /// Failed writes the watch showed at a revision: they happened, now with a known output.
    public var happened = 0
    /// Failed writes the complete watch log never showed: they never happened, dropped.
    public var neverHappened = 0
    /// Failed writes left pending forever.
    public var unresolved = 0
}

/// Checks of a client history: revision rules across all keys, and linearizability per key.
public enum HistoryChecker {
    /// Rules on revisions that hold across keys in any linearization of etcd's history:
    /// every write has its own revision; an operation invoked after another returned sees at least
    /// that one's revision (and a write creates a higher one); a read never sees a revision that no
    /// write invoked before it returned could have created. `foreignRevisions` were taken by
    /// writes outside the history (hostile clients'), whose invocation times are unknown: a read
    /// may also see those just above what the history's writes explain.
    public static func checkRevisions(_ operations: [HistoryOperation], foreignRevisions: Set<Int64> = [],
                                      limit: Int = 10) -> [String] {
        var violations: [String] = []
        func report(_ message: String) {
            if violations.count < limit { violations.append(message) }
        }
        // Distinct write revisions.
        var writers: [Int64: HistoryOperation] = [:]
        for operation in operations {
            guard let response = operation.response, response.wrote else { continue }
            if let other = writers[response.revision] {
                report("two writes got revision \(response.revision):\n    \(other.summary)\n    \(operation.summary)")
            } else {
                writers[response.revision] = operation
            }
        }
        // Real-time order.
        let answered = operations.filter { $0.response != nil && $0.returned != nil }
            .sorted { $0.returned! < $1.returned! }
        var index = 0
        var highest: Int64 = 0
        var highestOperation: HistoryOperation?
        for operation in operations.sorted(by: { $0.invoked < $1.invoked }) {
            while index < answered.count, answered[index].returned! < operation.invoked {
                if answered[index].response!.revision > highest {
                    highest = answered[index].response!.revision
                    highestOperation = answered[index]
                }
                index += 1
            }
            guard let response = operation.response, let before = highestOperation else { continue }
            if response.wrote ? response.revision <= highest : response.revision < highest {
                report("""
                    revision went back in real time: \(operation.summary)
                        was invoked after this returned: \(before.summary)
                    """)
            }
        }
        // No read from the future.
        let mayWrite = operations.filter { operation in
            switch operation.request {
            case .get: false
            case .put, .delete, .compareAndSet: operation.response?.wrote ?? true
            }
        }.sorted { $0.invoked < $1.invoked }
        var prefixMax: [Int64] = []
        var running: Int64 = 1
        for operation in mayWrite {
            running = max(running, operation.response?.revision ?? .max)
            prefixMax.append(running)
        }
        for operation in operations {
            guard let response = operation.response, !response.wrote, let returned = operation.returned else {
                continue
            }
            // Writes invoked before this returned: a prefix of `mayWrite`.
            var low = 0
            var high = mayWrite.count
            while low < high {
                let mid = (low + high) / 2
                if mayWrite[mid].invoked < returned { low = mid + 1 } else { high = mid }
            }
            var bound = low == 0 ? 1 : prefixMax[low - 1]
            // Revisions above the bound can only be foreign ones, and only a run of them.
            while bound < .max, foreignRevisions.contains(bound + 1) { bound += 1 }
            if response.revision > bound {
                report("read a revision no write invoked before it returned could have made (≤ \(bound)): \(operation.summary)")
            }
        }
        return violations
    }

    /// Partitions by key and searches a linearization of each partition with `RegisterModel`,
    /// each within `timeout`, `parallelism` keys at a time, with what `revisions` tells about each
    /// key's lost writes.
    public static func checkLinearizability(_ operations: [HistoryOperation], timeout: Duration,
                                            revisions: [String: KeyRevisions] = [:],
                                            parallelism: Int = 2) async -> [KeyResult] {
        var partitions: [String: [HistoryOperation]] = [:]
        for operation in operations { partitions[operation.key, default: []].append(operation) }
        let keys = partitions.keys.sorted()
        var results: [String: KeyResult] = [:]
        await withTaskGroup(of: KeyResult.self) { group in
            var next = 0
            while next < keys.count || !group.isEmpty {
                while next < keys.count, next - results.count < max(1, parallelism) {
                    let key = keys[next]
                    let partition = partitions[key]!
                    next += 1
                    let known = revisions[key]
                    group.addTask { checkKey(key, partition, timeout: timeout, revisions: known) }
                }
                if let result = await group.next() { results[result.key] = result }
            }
        }
        return keys.map { results[$0]! }
    }

    /// One key's partition, checked synchronously.
    public static func checkKey(_ key: String, _ operations: [HistoryOperation], timeout: Duration,
                                revisions: KeyRevisions? = nil) -> KeyResult {
        let started = ContinuousClock.now
        let model = RegisterModel(operations: operations, revisions: revisions)
        let result = Linearizability.check(
            model: model, invoked: operations.map(\.invoked), returned: operations.map(\.returned),
            deadline: started + timeout)
        let elapsed = ContinuousClock.now - started
        var explanation: [String] = []
        switch result {
        case .linearizable: break
        case .notLinearizable(let example), .unknown(let example):
            explanation.append("longest linearization found holds \(example.linearized) of \(example.total) operations; it ends with:")
            explanation += example.lastLinearized.map { "    \(operations[$0].summary)" }
            explanation.append("state then: \(example.state)")
            if example.blocking >= 0 {
                explanation.append("no candidate can be linearized next, yet this must be before it returns:")
                explanation.append("    \(operations[example.blocking].summary)")
                explanation.append("candidates (invoked before it returned, not yet linearized):")
                explanation += example.candidates.map { "    \(operations[$0].summary)" }
            }
        }
        return KeyResult(
            key: key, operations: operations.count, pending: operations.filter(\.isPending).count,
            result: result, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            explanation: explanation)
    }
}
