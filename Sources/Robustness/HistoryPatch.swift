import Foundation

extension HistoryChecker {
    /// Drops failed operations that were never sent and failed reads, and settles failed writes with the write log the watchers saw
    /// (revision → event, merged across watchers):
    /// - a failed put or txn whose unique value appears in the log happened, at that revision;
    ///   when the log is `complete` (every revision up to the end), one whose value never appears
    ///   did not happen (a failed txn has no effect either) and is dropped;
    /// - a delete event no acknowledged delete explains is given to the failed delete of that key
    ///   that is its only candidate (invoked before any answer showed its revision); with a
    ///   complete log, a failed delete that is no event's candidate had no effect and is dropped;
    /// - a settled write at revision r took effect before the first answer (on any key) that
    ///   showed a revision ≥ r, which becomes its response time.
    /// Failed writes left unsettled stay pending forever.
    public static func prepare(_ operations: [HistoryOperation], writeLog: [Int64: WatchEventRecord],
                               complete: Bool) -> (operations: [HistoryOperation], summary: PatchSummary) {
        var byValue: [String: WatchEventRecord] = [:]
        for event in writeLog.values where event.type == .put { byValue[event.value] = event }
        var summary = PatchSummary()
        var prepared: [HistoryOperation] = []
        prepared.reserveCapacity(operations.count)
        var failedDeletes: [Int] = []
        for var operation in operations {
            guard operation.response == nil else {
                prepared.append(operation)
                continue
            }
            if operation.notSent {
                summary.notSent += 1
                continue
            }
            switch operation.request {
            case .get:
                summary.droppedReads += 1
                continue
            case .put(let value), .compareAndSet(_, let value):
                if let event = byValue[value], event.key == operation.key {
                    summary.happened += 1
                    if case .put = operation.request {
                        operation.response = .put(revision: event.modRevision)
                    } else {
                        operation.response = .compareAndSet(revision: event.modRevision, succeeded: true, kv: nil)
                    }
                } else if complete, byValue[value] == nil {
                    summary.neverHappened += 1
                    continue
                } else {
                    summary.unresolved += 1
                }
            case .delete:
                failedDeletes.append(prepared.count)
            }
            prepared.append(operation)
        }
        let observed = ObservedRevisions(prepared)
        settleDeletes(&prepared, failedDeletes, writeLog: writeLog, complete: complete, observed: observed,
                      summary: &summary)
        for index in prepared.indices where prepared[index].returned == nil {
            guard let response = prepared[index].response,
                  let seen = observed.firstAnswer(showing: response.revision),
                  seen > prepared[index].invoked
            else { continue }
            prepared[index].returned = seen
        }
        return (prepared, summary)
    }

    /// Per key, the revisions of the log's delete events that no delete with a known response
    /// explains, ascending: the failed deletes made them.
    static func unexplainedDeletes(_ operations: [HistoryOperation],
                                          writeLog: [Int64: WatchEventRecord]) -> [String: [Int64]] {
        var explained = Set<Int64>()
        for operation in operations {
            if case .delete(let revision, let deleted)? = operation.response, deleted > 0 { explained.insert(revision) }
        }
        var unexplained: [String: [Int64]] = [:]
        for (revision, event) in writeLog where event.type == .delete && !explained.contains(revision) {
            unexplained[event.key, default: []].append(revision)
        }
        return unexplained.mapValues { $0.sorted() }
    }

    private static func settleDeletes(_ prepared: inout [HistoryOperation], _ failed: [Int],
                                      writeLog: [Int64: WatchEventRecord], complete: Bool,
                                      observed: ObservedRevisions, summary: inout PatchSummary) {
        guard !failed.isEmpty else { return }
        let unexplained = unexplainedDeletes(prepared, writeLog: writeLog)
        var candidates: [Int64: [Int]] = [:]
        var dropped = Set<Int>()
        for index in failed {
            let operation = prepared[index]
            let before = observed.highest(before: operation.invoked)
            let events = (unexplained[operation.key] ?? []).filter { $0 > before }
            if events.isEmpty {
                if complete { dropped.insert(index) }
                continue
            }
            for revision in events { candidates[revision, default: []].append(index) }
        }
        var settled = Set<Int>()
        for revision in candidates.keys.sorted() {
            guard let only = candidates[revision], only.count == 1, !settled.contains(only[0]) else { continue }
            prepared[only[0]].response = .delete(revision: revision, deleted: 1)
            settled.insert(only[0])
        }
        summary.happened += settled.count
        summary.neverHappened += dropped.count
        summary.unresolved += failed.count - settled.count - dropped.count
        if !dropped.isEmpty {
            prepared = prepared.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
        }
    }
}

/// The revisions answers showed, by when they came back.
struct ObservedRevisions {
    /// Answered operations by response time, with the running maximum of their revisions.
    private let returned: [Int64]
    private let highestSoFar: [Int64]
    /// Answered operations by revision, with the earliest response time from there on.
    private let revisions: [Int64]
    private let earliestFromHere: [Int64]

    init(_ operations: [HistoryOperation]) {
        let answered = operations.compactMap { operation -> (revision: Int64, returned: Int64)? in
            guard let response = operation.response, let returned = operation.returned else { return nil }
            return (response.revision, returned)
        }
        let byTime = answered.sorted { $0.returned < $1.returned }
        returned = byTime.map(\.returned)
        var highest: Int64 = 0
        highestSoFar = byTime.map { highest = max(highest, $0.revision); return highest }
        let byRevision = answered.sorted { $0.revision < $1.revision }
        revisions = byRevision.map(\.revision)
        var earliest = Int64.max
        earliestFromHere = byRevision.reversed().map { earliest = min(earliest, $0.returned); return earliest }.reversed()
    }

    /// The highest revision shown by an answer that came back before `time` (0 if none).
    func highest(before time: Int64) -> Int64 {
        let count = firstIndex(returned) { $0 >= time }
        return count == 0 ? 0 : highestSoFar[count - 1]
    }

    /// When the first answer showing a revision ≥ `revision` came back (nil if none did).
    func firstAnswer(showing revision: Int64) -> Int64? {
        let index = firstIndex(revisions) { $0 >= revision }
        return index < revisions.count ? earliestFromHere[index] : nil
    }

}
