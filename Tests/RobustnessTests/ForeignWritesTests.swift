import Foundation
import Testing

@testable import Robustness

/// Hostile clients write under `RobustnessRun.hostilePrefix`, outside the recorded history: their
/// revisions must neither look like gaps, nor like events no client wrote, nor like reads from the
/// future — while everything else those checks catch is still caught.
@Suite struct ForeignWritesTests {
    let hostile = RobustnessRun.hostilePrefix + "x"

    func op(_ id: Int, _ key: String, _ request: KVRequest, _ response: KVResponse?, _ invoked: Int64,
            _ returned: Int64?) -> HistoryOperation {
        HistoryOperation(id: id, client: id, member: 0, key: key, request: request, response: response,
                         invoked: invoked, returned: returned)
    }

    func put(_ key: String, _ value: String, revision: Int64) -> WatchEventRecord {
        WatchEventRecord(type: .put, key: key, value: value, modRevision: revision, createRevision: revision,
                         version: 1, received: 0)
    }

    /// k1 at 2, a hostile put at 3, k2 at 4, read at 4.
    var history: [HistoryOperation] {
        [
            op(0, "k1", .put(value: "a"), .put(revision: 2), 0, 10),
            op(1, "k2", .put(value: "b"), .put(revision: 4), 20, 30),
            op(2, "k2", .get, .get(revision: 4, kv: KeyValueRecord(value: "b", modRevision: 4, createRevision: 4, version: 1)), 40, 50),
        ]
    }

    @Test func hostileEventsFillTheWatchLogWithoutViolations() {
        let events = [put("k1", "a", revision: 2), put(hostile, "hostile 1", revision: 3), put("k2", "b", revision: 4)]
        let report = WatchChecker.check(
            watchers: [WatcherRecord(id: 0, member: 0, startRevision: 1, events: events)],
            operations: history, finalRevision: 4)
        #expect(report.violations == [])
        #expect(report.complete)
    }

    @Test func anEventOutsideBothPrefixesIsStillReported() {
        let events = [put("k1", "a", revision: 2), put("elsewhere", "z", revision: 3), put("k2", "b", revision: 4)]
        let report = WatchChecker.check(
            watchers: [WatcherRecord(id: 0, member: 0, startRevision: 1, events: events)],
            operations: history, finalRevision: 4)
        #expect(report.violations.contains { $0.contains("value no client wrote") }, "\(report.violations)")
    }

    @Test func aReadMaySeeHostileRevisionsJustAboveTheWorkloadsWrites() {
        let reads = [
            op(0, "k1", .put(value: "a"), .put(revision: 2), 0, 10),
            op(1, "k1", .get, .get(revision: 4, kv: nil), 20, 30),
        ]
        #expect(HistoryChecker.checkRevisions(reads).count == 1)
        #expect(HistoryChecker.checkRevisions(reads, foreignRevisions: [3, 4]) == [])
        // Revision 5 is the workload's, invoked after the read returned: still from the future.
        let beyond = reads + [op(2, "k2", .put(value: "c"), .put(revision: 5), 40, 50)]
        let future = [op(3, "k1", .get, .get(revision: 6, kv: nil), 20, 30)]
        let violations = HistoryChecker.checkRevisions(beyond + future, foreignRevisions: [3, 4, 6])
        #expect(violations.contains { $0.contains("read a revision no write invoked before it returned") }, "\(violations)")
    }

    @Test func lostWritesCannotTakeHostileRevisions() {
        let operations = [
            op(0, "k1", .put(value: "a"), .put(revision: 2), 0, 10),
            op(1, "k1", .put(value: "b"), nil, 20, nil),
        ]
        let log: [Int64: WatchEventRecord] = [2: put("k1", "a", revision: 2), 3: put(hostile, "hostile 1", revision: 3)]
        let revisions = KeyRevisions.of(operations, writeLog: log, finalRevision: 4)
        #expect(revisions["k1"]?.candidates == [4])
    }
}
