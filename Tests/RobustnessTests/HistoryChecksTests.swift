import Foundation
import XCTest

@testable import Robustness

/// The checks around the per-key search: revision rules across keys, the watch checks, and
/// settling failed writes with the watch log.
final class HistoryChecksTests: XCTestCase {
    private func op(_ id: Int, _ key: String, _ request: KVRequest, _ response: KVResponse?,
                    _ invoked: Int64, _ returned: Int64?) -> HistoryOperation {
        HistoryOperation(id: id, client: id, member: 0, key: key, request: request, response: response,
                         invoked: invoked, returned: returned)
    }

    private func put(_ key: String, _ value: String, revision: Int64, version: Int64 = 1,
                     create: Int64? = nil) -> WatchEventRecord {
        WatchEventRecord(type: .put, key: key, value: value, modRevision: revision,
                         createRevision: create ?? revision, version: version, received: 0)
    }

    private func delete(_ key: String, revision: Int64) -> WatchEventRecord {
        WatchEventRecord(type: .delete, key: key, value: "", modRevision: revision, createRevision: 0,
                         version: 0, received: 0)
    }

    // MARK: - Revisions across keys

    func testRevisionsInRealTimeOrderPass() {
        let history = [
            op(0, "a", .put(value: "1"), .put(revision: 2), 0, 10),
            op(1, "b", .put(value: "2"), .put(revision: 3), 20, 30),
            op(2, "a", .get, .get(revision: 3, kv: nil), 40, 50),
        ]
        XCTAssertEqual(HistoryChecker.checkRevisions(history), [])
    }

    func testRevisionGoingBackAcrossKeysIsReported() {
        let history = [
            op(0, "a", .put(value: "1"), .put(revision: 5), 0, 10),
            op(1, "b", .put(value: "2"), .put(revision: 4), 20, 30),
        ]
        XCTAssertEqual(HistoryChecker.checkRevisions(history).count, 1)
    }

    func testStaleHeaderOnAnotherKeyIsReported() {
        let history = [
            op(0, "a", .put(value: "1"), .put(revision: 5), 0, 10),
            op(1, "b", .get, .get(revision: 4, kv: nil), 20, 30),
        ]
        XCTAssertEqual(HistoryChecker.checkRevisions(history).count, 1)
    }

    func testDuplicateWriteRevisionIsReported() {
        let history = [
            op(0, "a", .put(value: "1"), .put(revision: 2), 0, 10),
            op(1, "b", .put(value: "2"), .put(revision: 2), 5, 15),
        ]
        XCTAssertTrue(HistoryChecker.checkRevisions(history).contains { $0.contains("two writes got revision 2") })
    }

    func testReadFromTheFutureIsReported() {
        let history = [
            op(0, "a", .put(value: "1"), .put(revision: 2), 0, 10),
            op(1, "a", .get, .get(revision: 7, kv: nil), 20, 30),
            op(2, "a", .put(value: "2"), .put(revision: 8), 40, 50),
        ]
        XCTAssertEqual(HistoryChecker.checkRevisions(history).count, 1)
    }

    func testPendingWriteAllowsAnyLaterRevision() {
        let history = [
            op(0, "a", .put(value: "1"), nil, 0, nil),
            op(1, "a", .get, .get(revision: 9, kv: nil), 20, 30),
        ]
        XCTAssertEqual(HistoryChecker.checkRevisions(history), [])
    }

    // MARK: - Watch

    private func writes() -> [HistoryOperation] {
        [
            op(0, "k1", .put(value: "a"), .put(revision: 2), 0, 10),
            op(1, "k2", .put(value: "b"), .put(revision: 3), 20, 30),
            op(2, "k1", .delete, .delete(revision: 4, deleted: 1), 40, 50),
        ]
    }

    private func goodEvents() -> [WatchEventRecord] {
        [put("k1", "a", revision: 2), put("k2", "b", revision: 3), delete("k1", revision: 4)]
    }

    func testAgreeingCompleteWatchersPass() {
        let watchers = [
            WatcherRecord(id: 0, member: 0, startRevision: 1, events: goodEvents()),
            WatcherRecord(id: 1, member: 1, startRevision: 1, events: goodEvents(), reconnects: 1),
        ]
        let report = WatchChecker.check(watchers: watchers, operations: writes(), finalRevision: 4)
        XCTAssertEqual(report.violations, [])
        XCTAssertTrue(report.complete)
        XCTAssertEqual(report.eventsChecked, 6)
    }

    func testGapIsReported() {
        var events = goodEvents()
        events.remove(at: 1)
        let report = WatchChecker.check(
            watchers: [WatcherRecord(id: 0, member: 0, startRevision: 1, events: events)],
            operations: writes(), finalRevision: 4)
        XCTAssertTrue(report.violations.contains { $0.contains("gap: revisions 3...3 missing") }, "\(report.violations)")
        XCTAssertFalse(report.complete)
    }

    func testDuplicateAndOutOfOrderAreReported() {
        let events = goodEvents()
        let report = WatchChecker.check(
            watchers: [WatcherRecord(id: 0, member: 0, startRevision: 1,
                                     events: [events[0], events[1], events[1], events[0], events[2]])],
            operations: writes(), finalRevision: 4)
        XCTAssertTrue(report.violations.contains { $0.contains("duplicate event at revision 3") }, "\(report.violations)")
        XCTAssertTrue(report.violations.contains { $0.contains("out of order") }, "\(report.violations)")
    }

    func testDisagreementIsReported() {
        var other = goodEvents()
        other[1] = put("k2", "b", revision: 3, version: 2)
        let report = WatchChecker.check(
            watchers: [WatcherRecord(id: 0, member: 0, startRevision: 1, events: goodEvents()),
                       WatcherRecord(id: 1, member: 1, startRevision: 1, events: other)],
            operations: writes(), finalRevision: 4)
        XCTAssertTrue(report.violations.contains { $0.contains("watchers disagree on revision 3") }, "\(report.violations)")
    }

    func testLaggingWatcherIsReported() {
        let report = WatchChecker.check(
            watchers: [WatcherRecord(id: 0, member: 2, startRevision: 1, events: Array(goodEvents().prefix(2)))],
            operations: writes(), finalRevision: 4)
        XCTAssertTrue(report.violations.contains { $0.contains("behind the final revision 4") }, "\(report.violations)")
    }

    func testEventsMustMatchTheHistory() {
        var events = goodEvents()
        events[0] = put("k1", "zz", revision: 2)
        let report = WatchChecker.check(
            watchers: [WatcherRecord(id: 0, member: 0, startRevision: 1, events: events)],
            operations: writes(), finalRevision: 4)
        XCTAssertTrue(report.violations.contains { $0.contains("no client wrote") }, "\(report.violations)")
        XCTAssertTrue(report.violations.contains { $0.contains("acknowledged write at revision 2") }, "\(report.violations)")
    }

    func testEventAtWrongRevisionIsReported() {
        let events = [put("k1", "a", revision: 2), put("k2", "b", revision: 3), delete("k1", revision: 4)]
        var history = writes()
        history[1].response = .put(revision: 5)
        let report = WatchChecker.check(
            watchers: [WatcherRecord(id: 0, member: 0, startRevision: 1, events: events)],
            operations: history, finalRevision: 5)
        XCTAssertTrue(report.violations.contains { $0.contains("acknowledged at revision 5") }, "\(report.violations)")
    }

    func testResumedWatcherStartsLate() {
        let report = WatchChecker.check(
            watchers: [WatcherRecord(id: 0, member: 0, startRevision: 3, events: Array(goodEvents().dropFirst()))],
            operations: writes(), finalRevision: 4)
        XCTAssertEqual(report.violations, [])
    }

    // MARK: - Settling failed operations with the watch log

    func testFailedWritesAreSettledByTheWatchLog() {
        let history = [
            op(0, "k", .put(value: "a"), nil, 0, nil),  // seen by the watch: happened
            op(1, "k", .put(value: "b"), nil, 5, nil),  // never seen: never happened
            op(2, "k", .compareAndSet(compare: .modRevision(2), value: "c"), nil, 6, nil),  // seen
            op(3, "k", .get, nil, 7, nil),  // failed read: dropped
            op(4, "k", .delete, nil, 8, nil),  // no delete event to explain: no effect
        ]
        let log: [Int64: WatchEventRecord] = [
            2: put("k", "a", revision: 2),
            3: put("k", "c", revision: 3, version: 2, create: 2),
        ]
        let (prepared, summary) = HistoryChecker.prepare(history, writeLog: log, complete: true)
        XCTAssertEqual(summary, PatchSummary(droppedReads: 1, happened: 2, neverHappened: 2, unresolved: 0))
        XCTAssertEqual(prepared.map(\.id), [0, 2])
        XCTAssertEqual(prepared[0].response, .put(revision: 2))
        XCTAssertEqual(prepared[1].response, .compareAndSet(revision: 3, succeeded: true, kv: nil))
        XCTAssertNil(prepared[0].returned, "no answer showed revision 2: no bound on when it took effect")

        let (kept, partial) = HistoryChecker.prepare(history, writeLog: log, complete: false)
        XCTAssertEqual(kept.count, 4)
        XCTAssertEqual(partial.unresolved, 2)
    }

    func testFailedDeleteIsGivenTheEventOnlyItCanExplain() {
        let history = [
            op(0, "k", .put(value: "a"), .put(revision: 2), 0, 10),
            op(1, "k", .delete, nil, 20, nil),  // the only candidate for revision 3
            op(2, "j", .put(value: "b"), .put(revision: 4), 40, 50),
            op(3, "k", .delete, nil, 60, nil),  // invoked after revision 4 was seen: too late for 3
            op(4, "k", .get, .get(revision: 4, kv: nil), 70, 80),
        ]
        let log: [Int64: WatchEventRecord] = [
            2: put("k", "a", revision: 2), 3: delete("k", revision: 3), 4: put("j", "b", revision: 4),
        ]
        let (prepared, summary) = HistoryChecker.prepare(history, writeLog: log, complete: true)
        XCTAssertEqual(summary, PatchSummary(droppedReads: 0, happened: 1, neverHappened: 1, unresolved: 0))
        XCTAssertEqual(prepared.map(\.id), [0, 1, 2, 4])
        XCTAssertEqual(prepared[1].response, .delete(revision: 3, deleted: 1))
        // Revision 4 was first shown by the answer at 50: the delete at 3 took effect before that.
        XCTAssertEqual(prepared[1].returned, 50)
        XCTAssertEqual(HistoryChecker.checkKey("k", prepared.filter { $0.key == "k" }, timeout: .seconds(5)).result,
                       .linearizable)
    }

    func testRequestsNeverSentAreDropped() {
        var history = [
            op(0, "k", .put(value: "a"), nil, 0, nil),
            op(1, "k", .delete, nil, 5, nil),
        ]
        history[0].notSent = true
        history[1].notSent = true
        let (prepared, summary) = HistoryChecker.prepare(history, writeLog: [:], complete: false)
        XCTAssertEqual(prepared.count, 0)
        XCTAssertEqual(summary.notSent, 2)
    }

    func testAmbiguousFailedDeletesStayPending() {
        let history = [
            op(0, "k", .put(value: "a"), .put(revision: 2), 0, 10),
            op(1, "k", .delete, nil, 20, nil),
            op(2, "k", .delete, nil, 25, nil),
        ]
        let log: [Int64: WatchEventRecord] = [2: put("k", "a", revision: 2), 3: delete("k", revision: 3)]
        let (prepared, summary) = HistoryChecker.prepare(history, writeLog: log, complete: true)
        XCTAssertEqual(summary.unresolved, 2)
        XCTAssertEqual(prepared.count, 3)
    }

    func testRecordedHistoryRoundTrips() throws {
        let history = RecordedHistory(
            operations: writes(), watchers: [WatcherRecord(id: 0, member: 0, startRevision: 1, events: goodEvents())],
            faults: [FaultRecord(kind: .moveLeader, member: 1, wasLeader: false, started: 1, ended: 2)],
            finalRevision: 4)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try history.write(to: url)
        let read = try RecordedHistory.read(from: url)
        XCTAssertEqual(read.operations, history.operations)
        XCTAssertEqual(read.watchers, history.watchers)
        XCTAssertEqual(read.faults, history.faults)
    }

    func testPrefixEnd() {
        XCTAssertEqual(Watcher.prefixEnd("/robustness/"), "/robustness0")
        XCTAssertEqual(Watcher.prefixEnd("a"), "b")
    }
}
