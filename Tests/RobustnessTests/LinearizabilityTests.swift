import Foundation
import HarnessSupport
import XCTest

@testable import Robustness

/// Small histories on one key with known answers. Times are arbitrary monotonic nanoseconds;
/// `nil` as a return time means the response was lost (pending forever).
final class LinearizabilityTests: XCTestCase {
    private var operations: [HistoryOperation] = []

    override func setUp() {
        operations = []
    }

    private func record(_ request: KVRequest, _ response: KVResponse?, _ invoked: Int64, _ returned: Int64?,
                        key: String = "k") {
        operations.append(HistoryOperation(
            id: operations.count, client: operations.count, member: 0, key: key, request: request,
            response: returned == nil ? nil : response, invoked: invoked, returned: returned))
    }

    private func kv(_ value: String, mod: Int64, create: Int64? = nil, version: Int64 = 1) -> KeyValueRecord {
        KeyValueRecord(value: value, modRevision: mod, createRevision: create ?? mod, version: version)
    }

    private func check(key: String = "k") -> LinearizabilityResult {
        HistoryChecker.checkKey(key, operations.filter { $0.key == key }, timeout: .seconds(30)).result
    }

    private func assertLinearizable(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(check(), .linearizable, file: file, line: line)
    }

    private func assertViolation(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(check().isViolation, "expected a violation", file: file, line: line)
    }

    // MARK: - Linearizable histories

    func testSequentialPutGet() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.get, .get(revision: 2, kv: kv("a", mod: 2)), 20, 30)
        assertLinearizable()
    }

    func testEmptyHistoryAndReadOfAbsentKey() {
        assertLinearizable()
        record(.get, .get(revision: 1, kv: nil), 0, 10)
        assertLinearizable()
    }

    func testConcurrentReadMaySeeOldOrNewValue() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.put(value: "b"), .put(revision: 3), 20, 60)
        record(.get, .get(revision: 2, kv: kv("a", mod: 2)), 30, 40)
        record(.get, .get(revision: 3, kv: kv("b", mod: 3, create: 2, version: 2)), 35, 50)
        assertLinearizable()
    }

    func testReadsOrderConcurrentWrites() {
        // Two overlapping puts; the reads after both fix their order as b, then a.
        record(.put(value: "a"), .put(revision: 3), 0, 50)
        record(.put(value: "b"), .put(revision: 2), 10, 40)
        record(.get, .get(revision: 3, kv: kv("a", mod: 3, create: 2, version: 2)), 60, 70)
        assertLinearizable()
    }

    func testCompareAndSetChain() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.compareAndSet(compare: .modRevision(2), value: "b"),
               .compareAndSet(revision: 3, succeeded: true, kv: nil), 20, 30)
        record(.compareAndSet(compare: .modRevision(2), value: "c"),
               .compareAndSet(revision: 3, succeeded: false, kv: kv("b", mod: 3, create: 2, version: 2)), 25, 35)
        record(.compareAndSet(compare: .value("b"), value: "d"),
               .compareAndSet(revision: 4, succeeded: true, kv: nil), 40, 50)
        record(.get, .get(revision: 4, kv: kv("d", mod: 4, create: 2, version: 3)), 60, 70)
        assertLinearizable()
    }

    func testCreateIfAbsentAndDelete() {
        record(.compareAndSet(compare: .modRevision(0), value: "a"),
               .compareAndSet(revision: 2, succeeded: true, kv: nil), 0, 10)
        record(.compareAndSet(compare: .modRevision(0), value: "b"),
               .compareAndSet(revision: 2, succeeded: false, kv: kv("a", mod: 2)), 20, 30)
        record(.delete, .delete(revision: 3, deleted: 1), 40, 50)
        record(.delete, .delete(revision: 3, deleted: 0), 60, 70)
        record(.compareAndSet(compare: .value("a"), value: "c"),
               .compareAndSet(revision: 3, succeeded: false, kv: nil), 80, 90)
        record(.get, .get(revision: 3, kv: nil), 100, 110)
        assertLinearizable()
    }

    func testPendingWriteThatWasObserved() {
        record(.put(value: "a"), nil, 0, nil)
        record(.get, .get(revision: 2, kv: kv("a", mod: 2)), 20, 30)
        assertLinearizable()
    }

    func testPendingWriteThatNeverHappened() {
        record(.put(value: "a"), nil, 0, nil)
        record(.get, .get(revision: 1, kv: nil), 20, 30)
        record(.get, .get(revision: 1, kv: nil), 40, 50)
        assertLinearizable()
    }

    func testPendingWriteTakingEffectLate() {
        // The lost put may take effect long after the client gave up on it.
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.put(value: "b"), nil, 20, nil)
        record(.get, .get(revision: 2, kv: kv("a", mod: 2)), 100, 110)
        record(.get, .get(revision: 3, kv: kv("b", mod: 3, create: 2, version: 2)), 200, 210)
        assertLinearizable()
    }

    func testPendingCompareAndSetWhoseOutcomeIsUnknown() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.put(value: "x"), nil, 15, nil)  // may or may not have happened: unknown mod revision
        record(.compareAndSet(compare: .modRevision(2), value: "b"), nil, 20, nil)
        record(.get, .get(revision: 3, kv: kv("b", mod: 3, create: 2, version: 2)), 40, 50)
        assertLinearizable()
    }

    func testPendingDelete() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.delete, nil, 20, nil)
        record(.get, .get(revision: 2, kv: kv("a", mod: 2)), 30, 40)
        record(.get, .get(revision: 3, kv: nil), 50, 60)
        assertLinearizable()
    }

    func testLostDeleteTakesTheRevisionOfItsEvent() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.delete, nil, 20, nil)
        record(.get, .get(revision: 4, kv: nil), 30, 40)
        let operations = self.operations
        func result(_ revisions: KeyRevisions?) -> LinearizabilityResult {
            HistoryChecker.checkKey("k", operations, timeout: .seconds(5), revisions: revisions).result
        }
        XCTAssertEqual(result(nil), .linearizable, "without more knowledge the delete may be anywhere")
        XCTAssertEqual(result(KeyRevisions(candidates: [3], openAbove: 4, certain: [3])), .linearizable,
                       "the watch saw the key deleted at 3")
        XCTAssertTrue(result(KeyRevisions(candidates: [5], openAbove: 5, certain: [5])).isViolation,
                      "the key was deleted only at 5, after the read's revision 4")
        XCTAssertTrue(result(KeyRevisions(candidates: [], openAbove: 4)).isViolation,
                      "revisions 3 and 4 were other writes': the delete cannot be before the read")
    }

    func testLostPutCanOnlyTakeAFreeRevision() {
        // Revisions 3 and 4 belong to known writes of other keys; the lost put can only be at 5+.
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.put(value: "b"), nil, 20, nil)
        record(.get, .get(revision: 4, kv: kv("b", mod: 4, create: 2, version: 2)), 30, 40)
        let free = KeyRevisions(candidates: [], openAbove: 4)
        XCTAssertTrue(HistoryChecker.checkKey("k", operations, timeout: .seconds(5), revisions: free).result.isViolation)
        operations[2].response = .get(revision: 5, kv: kv("b", mod: 5, create: 2, version: 2))
        XCTAssertEqual(HistoryChecker.checkKey("k", operations, timeout: .seconds(5), revisions: free).result,
                       .linearizable)
    }

    func testKeyRevisionsFromHistoryAndLog() {
        let operations = [
            HistoryOperation(id: 0, client: 0, member: 0, key: "a", request: .put(value: "1"),
                             response: .put(revision: 2), invoked: 0, returned: 1),
            HistoryOperation(id: 1, client: 0, member: 0, key: "b", request: .put(value: "2"),
                             response: .put(revision: 4), invoked: 2, returned: 3),
        ]
        let log: [Int64: WatchEventRecord] = [
            5: WatchEventRecord(type: .delete, key: "a", value: "", modRevision: 5, createRevision: 0, version: 0,
                                received: 0),
        ]
        let revisions = KeyRevisions.of(operations, writeLog: log, finalRevision: 6)
        XCTAssertEqual(revisions["a"], KeyRevisions(candidates: [3, 5, 6], openAbove: 6, certain: [5]))
        XCTAssertEqual(revisions["b"], KeyRevisions(candidates: [3, 6], openAbove: 6))
    }

    func testRandomLinearizableHistories() {
        // A register driven sequentially at random linearization points inside random intervals,
        // some responses lost: linearizable by construction.
        for seed in 1...20 {
            operations = generateLinearizable(seed: UInt64(seed), count: 300)
            XCTAssertEqual(check(), .linearizable, "seed \(seed)")
            let top = operations.compactMap { $0.response?.revision }.max() ?? 1
            let revisions = KeyRevisions.of(operations, writeLog: [:], finalRevision: top)["k"]
            XCTAssertEqual(HistoryChecker.checkKey("k", operations, timeout: .seconds(30), revisions: revisions).result,
                           .linearizable, "seed \(seed), with the free revisions")
        }
    }

    // MARK: - Violations

    func testStaleReadAfterWriteCompleted() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.put(value: "b"), .put(revision: 3), 20, 30)
        record(.get, .get(revision: 3, kv: kv("a", mod: 2)), 40, 50)
        assertViolation()
    }

    func testStaleReadAcrossReads() {
        // Read b, then a later read returns the older a.
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.put(value: "b"), .put(revision: 3), 20, 100)
        record(.get, .get(revision: 3, kv: kv("b", mod: 3, create: 2, version: 2)), 30, 40)
        record(.get, .get(revision: 2, kv: kv("a", mod: 2)), 50, 60)
        assertViolation()
    }

    func testLostWrite() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.get, .get(revision: 2, kv: nil), 20, 30)
        assertViolation()
    }

    func testTwoCompareAndSetsSucceedFromTheSameRevision() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.compareAndSet(compare: .modRevision(2), value: "b"),
               .compareAndSet(revision: 3, succeeded: true, kv: nil), 20, 40)
        record(.compareAndSet(compare: .modRevision(2), value: "c"),
               .compareAndSet(revision: 4, succeeded: true, kv: nil), 25, 45)
        assertViolation()
    }

    func testTwoCompareAndSetsSucceedFromTheSameValue() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.compareAndSet(compare: .value("a"), value: "b"),
               .compareAndSet(revision: 3, succeeded: true, kv: nil), 20, 40)
        record(.compareAndSet(compare: .value("a"), value: "c"),
               .compareAndSet(revision: 4, succeeded: true, kv: nil), 25, 45)
        assertViolation()
    }

    func testReadOfAValueNobodyWrote() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.get, .get(revision: 2, kv: kv("zz", mod: 2)), 20, 30)
        assertViolation()
    }

    func testPendingWriteSeenThenUnseen() {
        // A lost put that a read saw cannot disappear again without a delete.
        record(.put(value: "a"), nil, 0, nil)
        record(.get, .get(revision: 2, kv: kv("a", mod: 2)), 10, 20)
        record(.get, .get(revision: 2, kv: nil), 30, 40)
        assertViolation()
    }

    func testPendingCompareAndSetCannotSucceedAgainstWrongRevision() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.compareAndSet(compare: .modRevision(7), value: "b"), nil, 20, nil)
        record(.get, .get(revision: 3, kv: kv("b", mod: 3, create: 2, version: 2)), 40, 50)
        assertViolation()
    }

    func testReadHeaderRevisionBelowAcknowledgedWrite() {
        record(.put(value: "a"), .put(revision: 5), 0, 10)
        record(.get, .get(revision: 4, kv: kv("a", mod: 5)), 20, 30)
        assertViolation()
    }

    func testReadHeaderRevisionOrdersItAfterAConcurrentWrite() {
        // The read overlaps the put, but its header revision is the put's: it is after the put,
        // so it cannot see the key absent.
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.delete, .delete(revision: 3, deleted: 1), 20, 30)
        record(.put(value: "b"), .put(revision: 4), 40, 60)
        record(.get, .get(revision: 4, kv: nil), 45, 55)
        assertViolation()
        operations[3].response = .get(revision: 3, kv: nil)
        assertLinearizable()
    }

    func testWriteRevisionsMustIncrease() {
        record(.put(value: "a"), .put(revision: 5), 0, 10)
        record(.put(value: "b"), .put(revision: 4), 20, 30)
        assertViolation()
    }

    func testWrongVersion() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.put(value: "b"), .put(revision: 3), 20, 30)
        record(.get, .get(revision: 3, kv: kv("b", mod: 3, create: 2, version: 1)), 40, 50)
        assertViolation()
    }

    func testDeleteOfAbsentKeyReportingADeletion() {
        record(.delete, .delete(revision: 2, deleted: 1), 0, 10)
        assertViolation()
    }

    func testCompareAndSetFailingWhenItMustSucceed() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.compareAndSet(compare: .value("a"), value: "b"),
               .compareAndSet(revision: 2, succeeded: false, kv: kv("a", mod: 2)), 20, 30)
        assertViolation()
    }

    func testCounterexampleNamesTheOperations() {
        record(.put(value: "a"), .put(revision: 2), 0, 10)
        record(.put(value: "b"), .put(revision: 3), 20, 30)
        record(.get, .get(revision: 3, kv: kv("a", mod: 2)), 40, 50)
        let result = HistoryChecker.checkKey("k", operations, timeout: .seconds(5))
        guard case .notLinearizable(let example) = result.result else {
            return XCTFail("expected a violation, got \(result.result)")
        }
        XCTAssertEqual(example.linearized, 2)
        XCTAssertEqual(example.blocking, 2)
        let text = result.explanation.joined(separator: "\n")
        XCTAssertTrue(text.contains("put(b)"), text)
        XCTAssertTrue(text.contains("get → rev 3 a@mod2"), text)
    }

    func testViolationAmongManyLinearizableOperations() {
        operations = generateLinearizable(seed: 99, count: 400)
        let last = operations.map { $0.returned ?? $0.invoked }.max()! + 1000
        // A stale read at the end: the initial absent state.
        operations.append(HistoryOperation(
            id: operations.count, client: 99, member: 0, key: "k", request: .get,
            response: .get(revision: 1, kv: nil), invoked: last, returned: last + 10))
        operations.append(HistoryOperation(
            id: operations.count, client: 98, member: 0, key: "k", request: .put(value: "late"),
            response: .put(revision: 100_000), invoked: last - 500, returned: last - 400))
        XCTAssertTrue(check().isViolation)
    }

    // MARK: - Generator

    /// A linearizable history of one key: each operation takes effect at a random instant inside
    /// its interval, applied in that order to a sequential register; 5% of responses are lost.
    private func generateLinearizable(seed: UInt64, count: Int) -> [HistoryOperation] {
        var random = SplitMix64(seed: seed)
        struct Planned {
            var request: KVRequest
            var invoked: Int64
            var point: Int64
            var returned: Int64
        }
        var planned: [Planned] = []
        var time: Int64 = 0
        for index in 0..<count {
            time += Int64(random.next() % 20)
            let length = Int64(1 + random.next() % 80)
            let point = time + Int64(random.next() % UInt64(length))
            let request: KVRequest
            switch random.next() % 10 {
            case 0..<4: request = .get
            case 4..<7: request = .put(value: "v\(index)")
            case 7..<9:
                let previous = planned.compactMap(\.request.writtenValue).last ?? "none"
                request = random.next() % 2 == 0
                    ? .compareAndSet(compare: .value(previous), value: "v\(index)")
                    : .compareAndSet(compare: .modRevision(Int64(random.next() % UInt64(index + 2))), value: "v\(index)")
            default: request = .delete
            }
            planned.append(Planned(request: request, invoked: time, point: point, returned: time + length))
        }
        var revision: Int64 = 1
        var current: KeyValueRecord?
        var result: [HistoryOperation] = []
        for (index, operation) in planned.enumerated().sorted(by: { $0.element.point < $1.element.point }) {
            let response: KVResponse
            switch operation.request {
            case .get:
                response = .get(revision: revision, kv: current)
            case .put(let value):
                revision += 1
                current = KeyValueRecord(value: value, modRevision: revision,
                                         createRevision: current?.createRevision ?? revision,
                                         version: (current?.version ?? 0) + 1)
                response = .put(revision: revision)
            case .delete:
                if current != nil {
                    revision += 1
                    current = nil
                    response = .delete(revision: revision, deleted: 1)
                } else {
                    response = .delete(revision: revision, deleted: 0)
                }
            case .compareAndSet(let compare, let value):
                let holds: Bool
                switch compare {
                case .value(let expected): holds = current?.value == expected
                case .modRevision(let expected): holds = (current?.modRevision ?? 0) == expected
                }
                if holds {
                    revision += 1
                    current = KeyValueRecord(value: value, modRevision: revision,
                                             createRevision: current?.createRevision ?? revision,
                                             version: (current?.version ?? 0) + 1)
                    response = .compareAndSet(revision: revision, succeeded: true, kv: nil)
                } else {
                    response = .compareAndSet(revision: revision, succeeded: false, kv: current)
                }
            }
            let lost = random.next() % 20 == 0 && operation.request != .get
            result.append(HistoryOperation(
                id: index, client: index, member: 0, key: "k", request: operation.request,
                response: lost ? nil : response, invoked: operation.invoked, returned: lost ? nil : operation.returned))
        }
        return result.sorted { $0.id < $1.id }
    }
}
