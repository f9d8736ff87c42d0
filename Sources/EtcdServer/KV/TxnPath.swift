import EtcdProto
import Foundation
import MVCC

/// Which branch each (nested) transaction takes, decided up front against one view, in the
/// order the branches will run: the outer txn first, then each nested txn of its chosen
/// branch, depth first.
struct TxnPath {
    private(set) var decisions: [Bool] = []

    init(_ request: Etcdserverpb_TxnRequest, view: ReadView) {
        decide(request, view: view)
    }

    private mutating func decide(_ request: Etcdserverpb_TxnRequest, view: ReadView) {
        let succeeded = request.compare.allSatisfy { Self.holds($0, in: view) }
        decisions.append(succeeded)
        for op in succeeded ? request.success : request.failure {
            if case .requestTxn(let nested) = op.request { decide(nested, view: view) }
        }
    }

    /// A compare holds when it holds for every key in its range; a missing key compares as
    /// all zeros, except that a value compare on a missing key is always false.
    static func holds(_ compare: Etcdserverpb_Compare, in view: ReadView) -> Bool {
        let kvs: [KeyValue]
        do {
            kvs = try view.range(KeyRange(key: compare.key, rangeEnd: compare.rangeEnd), options: RangeOptions()).kvs
        } catch {
            return false
        }
        if kvs.isEmpty {
            if compare.target == .value { return false }
            return holds(compare, for: KeyValue(key: Data()))
        }
        return kvs.allSatisfy { holds(compare, for: $0) }
    }

    private static func holds(_ compare: Etcdserverpb_Compare, for kv: KeyValue) -> Bool {
        let order: Int
        switch compare.target {
        case .value:
            var expected = Data()
            if case .value(let value) = compare.targetUnion { expected = value }
            order = kv.value == expected ? 0 : (kv.value.lexicographicallyPrecedes(expected) ? -1 : 1)
        case .create:
            var expected: Int64 = 0
            if case .createRevision(let value) = compare.targetUnion { expected = value }
            order = compareInts(kv.createRevision, expected)
        case .mod:
            var expected: Int64 = 0
            if case .modRevision(let value) = compare.targetUnion { expected = value }
            order = compareInts(kv.modRevision, expected)
        case .version:
            var expected: Int64 = 0
            if case .version(let value) = compare.targetUnion { expected = value }
            order = compareInts(kv.version, expected)
        case .lease:
            var expected: Int64 = 0
            if case .lease(let value) = compare.targetUnion { expected = value }
            order = compareInts(kv.lease, expected)
        case .UNRECOGNIZED:
            order = 0
        }
        switch compare.result {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .greater: return order > 0
        case .less: return order < 0
        case .UNRECOGNIZED: return true
        }
    }

    private static func compareInts(_ a: Int64, _ b: Int64) -> Int {
        a < b ? -1 : (a > b ? 1 : 0)
    }
}
