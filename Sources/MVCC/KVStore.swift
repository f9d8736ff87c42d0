import Checksum
import Foundation
import Storage
import Synchronization

/// The multi-version key-value store (etcd's mvcc store): every write transaction creates
/// a new revision; any revision since the last compaction can be read.
///
/// Writes (`write()`, `compact`, `commit`) come from one thread, the server's apply loop.
/// Reads (`read`) may come from any thread at any time: they see the store as of the last
/// `commit()`, through an SQLite snapshot, while the apply loop keeps writing.
public final class KVStore: @unchecked Sendable {
    // @unchecked: `currentRevision` is confined to the apply thread; shared state is atomic
    // or guarded by `compactionLock`/the index's own lock.

    let backend: Backend
    let index = KeyIndexTree()
    /// Delivers committed changes to watchers.
    public let watchable: WatchableStore
    /// Keeps readers from missing writes answered ahead of their commit.
    public let commitGate = CommitGate()
    /// Where lease attachments are recorded (the lessor), if leases are in use.
    let leases: LeaseAttachments?
    /// Events of write transactions applied since the last commit, by revision.
    /// Apply thread only.
    private var uncommittedEvents: [(revision: Int64, events: [Event])] = []
    /// Readers hold it shared while they read; a compaction takes it exclusively only to
    /// publish its revision, so no reader that passed the compaction check can lose data.
    private let compactionLock = ReadWriteLock()
    private let readableRevision: Atomic<Int64>
    private let compactedRevision: Atomic<Int64>
    /// The revision of the last finished write transaction, committed to the backend or not.
    /// Apply thread only.
    public private(set) var currentRevision: Int64

    static let compactRevisionKey = Array("finishedCompactRev".utf8)
    static let scheduledCompactRevisionKey = Array("scheduledCompactRev".utf8)

    /// Opens the store on `backend`, rebuilding the key index from the stored history and
    /// re-attaching keys to their leases in `leases`.
    public init(backend: Backend, leases: LeaseAttachments? = nil) throws {
        self.backend = backend
        self.leases = leases
        let loaded = try Self.loadIndex(into: index, from: backend, leases: leases)
        currentRevision = loaded.current
        readableRevision = Atomic(loaded.current)
        compactedRevision = Atomic(loaded.compacted)
        watchable = WatchableStore(revision: loaded.current, compactRevision: loaded.compacted, gate: commitGate) {
            [backend] from, through in
            try Self.readEvents(backend: backend, from: from, through: through)
        }
    }

    /// Rebuilds everything from the backend after its database was replaced (a snapshot from
    /// the leader). Watchers keep watching: they catch up from the new history. Apply thread only.
    public func reload() throws {
        try compactionLock.withWriteLock {
            index.removeAll()
            uncommittedEvents.removeAll()
            let loaded = try Self.loadIndex(into: index, from: backend, leases: leases)
            currentRevision = loaded.current
            readableRevision.store(loaded.current, ordering: .releasing)
            compactedRevision.store(loaded.compacted, ordering: .releasing)
            watchable.restore(revision: loaded.current, compactRevision: loaded.compacted)
        }
    }

    /// Replays the key bucket into `index` and attaches live keys to their leases; returns the
    /// store's revision and compaction revision.
    private static func loadIndex(
        into index: KeyIndexTree, from backend: Backend, leases: LeaseAttachments?
    ) throws -> (current: Int64, compacted: Int64) {
        var compacted: Int64 = -1
        if let stored = try backend.batch.withValue(.meta, compactRevisionKey, { RevisionKey(bytes: $0) }) {
            guard let stored else { throw MVCCError.corrupt("bad \(String(decoding: compactRevisionKey, as: UTF8.self)) in meta bucket") }
            compacted = stored.revision.main
        }
        var latest: Int64 = 1
        var keyLeases: [[UInt8]: Int64] = [:]
        try backend.batch.forEach(.key, from: [], to: nil) { keyBytes, valueBytes in
            guard let revisionKey = RevisionKey(bytes: keyBytes) else {
                throw MVCCError.corrupt("bad revision key of \(keyBytes.count) bytes in key bucket")
            }
            let kv = try KeyValueCodec.decode(valueBytes, value: false)
            let key = Array(kv.key)
            latest = max(latest, revisionKey.revision.main)
            if revisionKey.isTombstone {
                if !keyLeases.isEmpty { keyLeases.removeValue(forKey: key) }
                index.tombstone(key, revisionKey.revision)
                return true
            }
            // Most stores have few leased keys: skip the hashing when there is nothing to update.
            if kv.lease != 0 {
                keyLeases[key] = kv.lease
            } else if !keyLeases.isEmpty {
                keyLeases.removeValue(forKey: key)
            }
            index.replay(key, modified: revisionKey.revision, created: Revision(main: kv.createRevision), version: kv.version)
            return true
        }
        if let leases {
            for (key, lease) in keyLeases { leases.attach(lease, key: key) }
        }
        return (max(latest, compacted), compacted)
    }

    /// Stops the watch machinery (the backend is closed by its owner).
    public func close() {
        watchable.stop()
    }

    /// The committed events of revisions `from...through`, in revision order.
    static func readEvents(backend: Backend, from: Int64, through: Int64) throws -> [Event] {
        try backend.read { transaction in
            var events: [Event] = []
            try transaction.forEach(
                .key, from: RevisionKey.lowerBound(main: from), to: RevisionKey.lowerBound(main: through + 1)
            ) { keyBytes, valueBytes in
                guard let revisionKey = RevisionKey(bytes: keyBytes) else { return true }
                var kv = try KeyValueCodec.decode(valueBytes)
                if revisionKey.isTombstone {
                    kv.modRevision = revisionKey.revision.main
                    events.append(Event(kind: .delete, kv: kv))
                } else {
                    events.append(Event(kind: .put, kv: kv))
                }
                return true
            }
            return events
        }
    }

    /// The newest revision readers can see, once every write already answered is among it.
    public var revision: Int64 {
        commitGate.waitForAnsweredWrites()
        return readableRevision.load(ordering: .acquiring)
    }

    /// The last compaction revision (-1 when never compacted).
    public var compactRevision: Int64 { compactedRevision.load(ordering: .acquiring) }

    /// Number of live and deleted-but-uncompacted keys in the index.
    public var indexedKeyCount: Int { index.keyCount }

    /// How many keys exist at the current revision (deleted ones not counted).
    public var liveKeyCount: Int { index.liveKeyCount }

    /// Runs `body` with a read view of the newest committed revision.
    public func read<T>(_ body: (ReadView) throws -> T) throws -> T {
        commitGate.waitForAnsweredWrites()
        return try compactionLock.withReadLock {
            // The revision first, the snapshot second: a commit landing in between then only
            // adds rows the view does not look at, instead of hiding rows it does.
            let visible = revision
            return try backend.read { transaction in
                try body(ReadTxn(store: self, reader: transaction, revision: visible))
            }
        }
    }

    /// Starts a write transaction. Apply thread only; call `end()` when done.
    public func write() -> WriteTxn {
        WriteTxn(store: self, beginRevision: currentRevision)
    }

    func finishWrite(_ changes: [KeyValue]) {
        guard !changes.isEmpty else { return }
        currentRevision += 1
        let events = changes.map { change in
            change.createRevision == 0
                ? Event(kind: .delete, kv: KeyValue(key: change.key, modRevision: currentRevision))
                : Event(kind: .put, kv: change)
        }
        uncommittedEvents.append((currentRevision, events))
    }

    /// Opens the commit gate: the writes applied so far may be answered before `commit()`,
    /// and readers arriving meanwhile wait for it. Apply thread only.
    public func answerBeforeCommit() {
        commitGate.openBeforeAnswering()
    }

    /// Commits everything written since the last commit to the backend and makes it visible
    /// to readers and watchers. Apply thread only.
    public func commit() throws {
        try backend.commit()
        readableRevision.store(currentRevision, ordering: .releasing)
        if !uncommittedEvents.isEmpty {
            watchable.notify(uncommittedEvents)
            uncommittedEvents.removeAll(keepingCapacity: true)
        }
        commitGate.closeAfterCommit()
    }

    /// Discards history before `rev` (etcd's compaction): the index forgets it at once and
    /// the backend rows are deleted in the current batch. Apply thread only.
    public func compact(_ rev: Int64) throws {
        guard rev > compactRevision else { throw MVCCError.compacted }
        guard rev <= currentRevision else { throw MVCCError.futureRevision }
        compactionLock.withWriteLock {
            compactedRevision.store(rev, ordering: .releasing)
        }
        watchable.compacted(at: rev)
        let revisionBytes = RevisionKey(Revision(main: rev)).bytes
        try backend.batch.put(.meta, Self.scheduledCompactRevisionKey, revisionBytes)
        let kept = index.compact(atRev: rev)
        var doomed: [[UInt8]] = []
        try backend.batch.forEach(.key, from: [], to: RevisionKey.lowerBound(main: rev + 1)) { keyBytes, _ in
            if let revisionKey = RevisionKey(bytes: keyBytes), !kept.contains(revisionKey.revision) {
                doomed.append(Array(keyBytes))
            }
            return true
        }
        for key in doomed {
            try backend.batch.delete(.key, key)
        }
        try backend.batch.put(.meta, Self.compactRevisionKey, revisionBytes)
    }

    /// etcd's HashKV: a CRC-32C over the key bucket up to `rev` (0 = newest), skipping what a
    /// compaction at `rev` would drop, so members with equal histories hash equally.
    public func hash(atRevision rev: Int64) throws -> (hash: UInt32, revision: Int64, compactRevision: Int64) {
        try compactionLock.withReadLock {
            let current = revision
            let compacted = compactRevision
            if rev > 0 && rev <= compacted { throw MVCCError.compacted }
            if rev > current { throw MVCCError.futureRevision }
            let target = rev == 0 ? current : rev
            let kept = index.keep(atRev: target)
            let lower = Revision(main: compacted + 1)
            var crc = Array(Bucket.key.name.utf8).withUnsafeBytes { CRC32C.checksum($0) }
            try backend.read { transaction in
                try transaction.forEach(.key, from: [], to: RevisionKey.lowerBound(main: target + 1)) { keyBytes, valueBytes in
                    guard let revisionKey = RevisionKey(bytes: keyBytes) else { return true }
                    if revisionKey.revision < lower, !kept.isEmpty, !kept.contains(revisionKey.revision) {
                        return true
                    }
                    crc = CRC32C.update(crc, with: keyBytes)
                    crc = CRC32C.update(crc, with: valueBytes)
                    return true
                }
            }
            return (crc, current, compacted)
        }
    }

    /// Reads the key-values for `range` at `curRev` through `reader` (etcd's rangeKeys).
    func rangeKeys(
        _ range: KeyRange, atRevision curRev: Int64, options: RangeOptions, reader: BackendReader
    ) throws -> RangeResult {
        var rev = options.revision
        if rev > curRev { throw MVCCError.futureRevision }
        if rev <= 0 { rev = curRev }
        if rev < compactRevision { throw MVCCError.compacted }

        let limit = options.countOnly ? 1 : options.limit
        let found = index.revisions(range, atRev: rev, limit: limit)
        if options.countOnly || found.total == 0 {
            return RangeResult(kvs: [], count: found.total, revision: curRev)
        }
        var kvs: [KeyValue] = []
        kvs.reserveCapacity(found.revisions.count)
        for revision in found.revisions {
            let kv = try reader.withValue(.key, RevisionKey(revision).bytes) { try KeyValueCodec.decode($0) }
            guard let kv else {
                throw MVCCError.corrupt("revision \(revision) is in the index but not in the backend")
            }
            kvs.append(kv)
        }
        return RangeResult(kvs: kvs, count: found.total, revision: curRev)
    }
}

/// A read-only view at a fixed revision, backed by a backend read transaction.
struct ReadTxn: ReadView {
    let store: KVStore
    let reader: BackendReader
    let revision: Int64

    var firstRevision: Int64 { store.compactRevision }

    func range(_ range: KeyRange, options: RangeOptions) throws -> RangeResult {
        try store.rangeKeys(range, atRevision: revision, options: options, reader: reader)
    }
}
