import Foundation

public struct WatchCheckReport: Sendable {
    public var watchers = 0
    public var eventsChecked = 0
    public var reconnects = 0
    public var violations: [String] = []
    /// Revision → event, merged across watchers.
    public var writeLog: [Int64: WatchEventRecord] = [:]
    /// The log holds every revision from 2 (the first write) to the final revision.
    public var complete = false
}

/// Checks watch streams: each in revision order with no duplicates and no gaps (every write
/// makes exactly one revision and the watchers watch every key, so every revision after the
/// watch's start must appear exactly once), caught up with the final revision, all watchers
/// agreeing on the event of each revision, and every event matching the writes of the client
/// history — except events under `RobustnessRun.hostilePrefix`, written by hostile clients
/// outside the history.
public enum WatchChecker {
    public static func check(watchers: [WatcherRecord], operations: [HistoryOperation],
                             finalRevision: Int64, limit: Int = 20) -> WatchCheckReport {
        var report = WatchCheckReport()
        report.watchers = watchers.count
        func violation(_ message: String) {
            if report.violations.count < limit { report.violations.append(message) }
        }
        var seenBy: [Int64: Int] = [:]
        for watcher in watchers {
            report.eventsChecked += watcher.events.count
            report.reconnects += watcher.reconnects
            let name = "watcher \(watcher.id) (member \(watcher.member))"
            // The store's first revision (1) is its creation, not a write.
            var previous = max(watcher.startRevision - 1, 1)
            for event in watcher.events {
                let revision = event.modRevision
                if revision == previous {
                    violation("\(name): duplicate event at revision \(revision): \(event.content)")
                } else if revision < previous {
                    violation("\(name): event at revision \(revision) after revision \(previous) (out of order)")
                } else {
                    if revision > previous + 1 {
                        violation("\(name): gap: revisions \(previous + 1)...\(revision - 1) missing")
                    }
                    previous = revision
                }
                if let problem = malformed(event) { violation("\(name): \(problem): \(event.content)") }
                if let earlier = report.writeLog[revision] {
                    if earlier.content != event.content {
                        violation("""
                            watchers disagree on revision \(revision): \(name) saw \(event.content), \
                            watcher \(seenBy[revision]!) saw \(earlier.content)
                            """)
                    }
                } else {
                    report.writeLog[revision] = event
                    seenBy[revision] = watcher.id
                }
            }
            if finalRevision > 0, previous < finalRevision {
                violation("\(name) ended at revision \(previous), behind the final revision \(finalRevision)")
            }
        }
        report.complete = finalRevision >= 1 && (2...max(2, finalRevision)).allSatisfy {
            $0 > finalRevision || report.writeLog[$0] != nil
        }
        compare(report.writeLog, operations, finalRevision: finalRevision, violation)
        return report
    }

    private static func malformed(_ event: WatchEventRecord) -> String? {
        switch event.type {
        case .put:
            if event.version < 1 { return "put event with version \(event.version)" }
            if event.createRevision > event.modRevision { return "create revision after mod revision" }
            if event.version == 1, event.createRevision != event.modRevision {
                return "first version's create revision differs from its mod revision"
            }
        case .delete:
            if !event.value.isEmpty { return "delete event with a value" }
        }
        return nil
    }

    /// Every event belongs to a write of the history, and every acknowledged write has its event.
    private static func compare(_ log: [Int64: WatchEventRecord], _ operations: [HistoryOperation],
                                finalRevision: Int64, _ violation: (String) -> Void) {
        var writers: [String: HistoryOperation] = [:]
        var deletes: [String: [HistoryOperation]] = [:]
        for operation in operations {
            if let value = operation.request.writtenValue { writers[value] = operation }
            if case .delete = operation.request { deletes[operation.key, default: []].append(operation) }
        }
        for revision in log.keys.sorted() {
            let event = log[revision]!
            if event.key.hasPrefix(RobustnessRun.hostilePrefix) { continue }
            switch event.type {
            case .put:
                guard let writer = writers[event.value] else {
                    violation("revision \(revision): event for a value no client wrote: \(event.content)")
                    continue
                }
                if writer.key != event.key {
                    violation("revision \(revision): \(event.content) but that value was written to \(writer.key): \(writer.summary)")
                } else if let response = writer.response {
                    if !response.wrote {
                        violation("revision \(revision): event for a write that reported no effect: \(writer.summary)")
                    } else if response.revision != revision {
                        violation("revision \(revision): event for a write acknowledged at revision \(response.revision): \(writer.summary)")
                    }
                }
            case .delete:
                let candidates = deletes[event.key] ?? []
                let explained = candidates.contains { operation in
                    guard let response = operation.response else { return true }
                    return response.wrote && response.revision == revision
                }
                if !explained {
                    violation("revision \(revision): delete event on \(event.key) that no delete explains")
                }
            }
        }
        for operation in operations {
            guard let response = operation.response, response.wrote, response.revision <= finalRevision else { continue }
            guard let event = log[response.revision] else { continue }  // a gap, reported above
            let matches: Bool
            switch operation.request {
            case .put(let value), .compareAndSet(_, let value):
                matches = event.type == .put && event.key == operation.key && event.value == value
            case .delete:
                matches = event.type == .delete && event.key == operation.key
            case .get:
                matches = true
            }
            if !matches {
                violation("acknowledged write at revision \(response.revision) but the watch saw \(event.content): \(operation.summary)")
            }
        }
    }
}
