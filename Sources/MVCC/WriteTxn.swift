import Foundation
import Storage

/// A write transaction: all its changes share one new main revision. Created by
/// `KVStore.write()` on the apply thread; reads inside it see its own earlier writes.
public final class WriteTxn: ReadView {
    private let store: KVStore
    /// The store revision when the transaction began.
    public let beginRevision: Int64
    /// The key-values written, in order; a deletion appears with only its key set
    /// (and `modRevision` once the transaction is done, see `events`).
    public private(set) var changes: [KeyValue] = []
    private var ended = false

    init(store: KVStore, beginRevision: Int64) {
        self.store = store
        self.beginRevision = beginRevision
    }

    /// The revision readers inside this transaction see: its own, once it changed anything.
    public var revision: Int64 { changes.isEmpty ? beginRevision : beginRevision + 1 }

    public var firstRevision: Int64 { store.compactRevision }

    private var newRevision: Int64 { beginRevision + 1 }

    public func range(_ range: KeyRange, options: RangeOptions) throws -> RangeResult {
        try store.rangeKeys(range, atRevision: revision, options: options, reader: store.backend.batch)
    }

    /// Writes `value` under `key`; returns the revision of the write.
    @discardableResult
    public func put(key: Data, value: Data, lease: Int64) throws -> Int64 {
        let keyBytes = [UInt8](key)
        let revision = Revision(main: newRevision, sub: Int64(changes.count))
        // One index search: the put reports whether the key lived on (version > 1).
        let written = store.index.put(keyBytes, revision)
        let oldLease = written.version > 1 ? store.leases?.lease(of: keyBytes) ?? 0 : 0
        let kv = KeyValue(
            key: key, createRevision: written.created.main, modRevision: newRevision, version: written.version,
            value: value, lease: lease)
        try store.backend.batch.put(.key, RevisionKey(revision).bytes, KeyValueCodec.encode(kv))
        changes.append(kv)
        if let leases = store.leases {
            if oldLease != 0 { leases.detach(oldLease, key: keyBytes) }
            if lease != 0 { leases.attach(lease, key: keyBytes) }
        }
        return newRevision
    }

    /// Deletes every key in `range`; returns how many keys were deleted and the revision
    /// (the transaction's own when anything changed, the current one otherwise).
    @discardableResult
    public func deleteRange(_ range: KeyRange) throws -> (deleted: Int64, revision: Int64) {
        let keys = store.index.keys(range, atRev: revision)
        for key in keys {
            let revision = Revision(main: newRevision, sub: Int64(changes.count))
            let kv = KeyValue(key: Data(key))
            try store.backend.batch.put(.key, RevisionKey(revision, isTombstone: true).bytes, KeyValueCodec.encode(kv))
            store.index.tombstone(key, revision)
            changes.append(kv)
            if let leases = store.leases {
                let lease = leases.lease(of: key)
                if lease != 0 { leases.detach(lease, key: key) }
            }
        }
        return (Int64(keys.count), changes.isEmpty ? beginRevision : newRevision)
    }

    /// Finishes the transaction: the store's revision advances when anything changed.
    public func end() {
        guard !ended else { return }
        ended = true
        store.finishWrite(changes)
    }
}
