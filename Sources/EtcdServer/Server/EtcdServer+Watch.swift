import EtcdProto
import Foundation
import MVCC

extension EtcdServer {
    /// A new watch stream on this member's store.
    public func makeWatchStream() -> WatchStream {
        WatchStream(store: store.watchable)
    }

    /// The key's value as of `revision` (for watchers asking for the previous value); nil when
    /// it did not exist then or that revision is compacted.
    public func keyValue(_ key: Data, at revision: Int64) -> Mvccpb_KeyValue? {
        let found = try? store.read { view in
            try view.range(KeyRange(key: key, rangeEnd: Data()), options: RangeOptions(revision: revision)).kvs.first
        }
        return found.flatMap { $0 }.map(Mvccpb_KeyValue.init)
    }

    /// A header as of `revision` exactly (0 stays 0), for watch responses.
    public func watchHeader(revision: Int64) -> Etcdserverpb_ResponseHeader {
        var header = Etcdserverpb_ResponseHeader()
        header.clusterID = clusterID
        header.memberID = memberID
        header.raftTerm = term
        header.revision = revision
        return header
    }
}

extension Mvccpb_Event {
    /// The wire form of a store event.
    public init(_ event: Event) {
        self.init()
        type = event.kind == .put ? .put : .delete
        kv = Mvccpb_KeyValue(event.kv)
    }
}

extension KeyRange {
    /// A watch request's key and range_end, with etcd's conventions: an empty key means "\0".
    public init(watchKey key: Data, rangeEnd: Data) {
        self.init(key: key.isEmpty ? [0] : [UInt8](key), rangeEnd: [UInt8](rangeEnd))
    }
}
