import EtcdProto
import Foundation
import MVCC

/// Orders range results the way etcd does. etcd sorts with Go's `sort.Sort`, which is not
/// stable; for up to 12 elements it is an insertion sort, which keeps ties in key order —
/// reproduced exactly here. Larger results keep ties in key order too (a stable sort),
/// which can differ from etcd's arbitrary order of equal elements.
enum RangeSorter {
    static func sort(_ kvs: inout [KeyValue], target: Etcdserverpb_RangeRequest.SortTarget, descending: Bool) {
        let less: (KeyValue, KeyValue) -> Bool
        switch target {
        case .key: less = { $0.key.lexicographicallyPrecedes($1.key) }
        case .version: less = { $0.version < $1.version }
        case .create: less = { $0.createRevision < $1.createRevision }
        case .mod: less = { $0.modRevision < $1.modRevision }
        case .value: less = { $0.value.lexicographicallyPrecedes($1.value) }
        case .UNRECOGNIZED: return
        }
        let ordered: (KeyValue, KeyValue) -> Bool = descending ? { less($1, $0) } : less
        if kvs.count <= 12 {
            insertionSort(&kvs, by: ordered)
        } else {
            // Swift's sort is stable.
            kvs.sort(by: ordered)
        }
    }

    private static func insertionSort(_ kvs: inout [KeyValue], by less: (KeyValue, KeyValue) -> Bool) {
        guard kvs.count > 1 else { return }
        for i in 1..<kvs.count {
            var j = i
            while j > 0 && less(kvs[j], kvs[j - 1]) {
                kvs.swapAt(j, j - 1)
                j -= 1
            }
        }
    }
}
