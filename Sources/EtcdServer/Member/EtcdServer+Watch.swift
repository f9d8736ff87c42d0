import Auth
import EtcdProto
import Foundation
import MVCC

/// The Watch service's side in the member.
extension EtcdServer {
    /// A new watch stream on this member's store.
    public func makeWatchStream() -> MemberWatchStream {
        MemberWatchStream(store: store.watchable)
    }

    /// Why the caller may not watch `key` to `rangeEnd` (etcd's cancel reason, the gRPC
    /// status as Go prints it), or nil when it may: read access to the whole range.
    public func watchRefusal(key: Data, rangeEnd: Data, as caller: Credentials) async -> String? {
        do {
            let info = try await identify(caller)
            try permitted { state throws(AuthError) in
                try state.check(info, .read, key: key.isEmpty ? [0] : [UInt8](key), end: [UInt8](rangeEnd))
            }
            return nil
        } catch {
            return "rpc error: code = \(error.code.description) desc = \(error.message)"
        }
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
    init(_ event: Event) {
        self.init()
        type = event.kind == .put ? .put : .delete
        kv = Mvccpb_KeyValue(event.kv)
    }

    /// Whether the event created its key (a put of its first version).
    public var isCreate: Bool { type == .put && kv.createRevision == kv.modRevision }
}
