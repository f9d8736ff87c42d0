/// Which keys a request covers, with etcd's `range_end` conventions already resolved.
public enum KeyRange: Sendable, Equatable {
    /// Exactly one key.
    case single([UInt8])
    /// `start <= key < end`; `end` nil means no upper bound.
    case interval(start: [UInt8], end: [UInt8]?)

    /// Interprets a request's key and range_end: empty range_end is the single key,
    /// `"\0"` means every key from `key` on, anything else is `[key, range_end)`.
    public init(key: [UInt8], rangeEnd: [UInt8]) {
        if rangeEnd.isEmpty {
            self = .single(key)
        } else if rangeEnd == [0] {
            self = .interval(start: key, end: nil)
        } else {
            self = .interval(start: key, end: rangeEnd)
        }
    }

    /// True when `key` falls in the range.
    public func contains(_ key: [UInt8]) -> Bool {
        switch self {
        case .single(let only): return key == only
        case .interval(let start, let end):
            return compareBytes(key, start) >= 0 && (end.map { compareBytes(key, $0) < 0 } ?? true)
        }
    }
}

/// The in-memory index of every key's revision history, ordered by key (etcd's treeIndex).
/// Thread-safe: lookups share a read lock; changes from the apply loop take the write lock.
final class KeyIndexTree: @unchecked Sendable {
    // @unchecked: all access to `indexes` and `liveKeys` goes through `lock`.
    private var indexes = SortedKeyIndexes()
    private var liveKeys = 0
    private let lock = ReadWriteLock()

    var keyCount: Int { lock.withReadLock { indexes.count } }

    /// Keys that exist now (not deleted), etcd's `etcd_debugging_mvcc_keys_total`.
    var liveKeyCount: Int { lock.withReadLock { liveKeys } }

    func get(_ key: [UInt8], atRev: Int64) -> (modified: Revision, created: Revision, version: Int64)? {
        lock.withReadLock {
            guard let position = indexes.find(key) else { return nil }
            return indexes[position].get(atRev: atRev)
        }
    }

    /// Visits the key indexes in `range` in key order until `body` returns false.
    private func visit(_ range: KeyRange, _ body: (KeyIndex) -> Bool) {
        switch range {
        case .single(let key):
            if let position = indexes.find(key) { _ = body(indexes[position]) }
        case .interval(let start, let end):
            var position = indexes.lowerBound(start)
            while let current = position {
                let index = indexes[current]
                if let end, compareBytes(index.key, end) >= 0 { return }
                if !body(index) { return }
                position = indexes.next(current)
            }
        }
    }

    /// The revisions holding the values of the keys in `range` as of `atRev`, in key order,
    /// at most `limit` of them (0 = all), and how many keys matched in total.
    func revisions(_ range: KeyRange, atRev: Int64, limit: Int) -> (revisions: [Revision], total: Int) {
        lock.withReadLock {
            var revisions: [Revision] = []
            var total = 0
            visit(range) { index in
                if let found = index.get(atRev: atRev) {
                    if limit <= 0 || revisions.count < limit { revisions.append(found.modified) }
                    total += 1
                }
                return true
            }
            return (revisions, total)
        }
    }

    /// The keys in `range` that exist as of `atRev`, in key order.
    func keys(_ range: KeyRange, atRev: Int64) -> [[UInt8]] {
        lock.withReadLock {
            var keys: [[UInt8]] = []
            visit(range) { index in
                if index.get(atRev: atRev) != nil { keys.append(index.key) }
                return true
            }
            return keys
        }
    }

    /// Every key in `range` with its revisions since main revision `rev` (for watchers).
    func revisions(_ range: KeyRange, since rev: Int64) -> [Revision] {
        lock.withReadLock {
            var revisions: [Revision] = []
            visit(range) { index in
                revisions.append(contentsOf: index.revisions(since: rev))
                return true
            }
            return revisions.sorted()
        }
    }

    /// Records a write of `key` at `revision`; returns the key's create revision and
    /// version after it (a key that did not exist, or was deleted, starts a generation).
    @discardableResult
    func put(_ key: [UInt8], _ revision: Revision) -> (created: Revision, version: Int64) {
        lock.withWriteLock {
            let position = indexes.findOrInsert(key).position
            if indexes[position].isDeleted { liveKeys += 1 }
            indexes[position].put(revision)
            return indexes[position].current
        }
    }

    /// Marks the key deleted at `revision`; false when it does not exist (nothing changes).
    @discardableResult
    func tombstone(_ key: [UInt8], _ revision: Revision) -> Bool {
        lock.withWriteLock {
            guard let position = indexes.find(key), indexes[position].tombstone(revision) else { return false }
            liveKeys -= 1
            return true
        }
    }

    /// Forgets every key (before reloading a replaced backend).
    func removeAll() {
        lock.withWriteLock {
            indexes = SortedKeyIndexes()
            liveKeys = 0
        }
    }

    /// Replays one stored revision of `key` while loading the backend: the first one seen
    /// rebuilds the key's index from the stored create revision and version, later ones are
    /// puts. One lock and one search per revision.
    func replay(_ key: [UInt8], modified: Revision, created: Revision, version: Int64) {
        lock.withWriteLock {
            let (position, inserted) = indexes.findOrInsert(key)
            if indexes[position].isDeleted { liveKeys += 1 }
            if inserted {
                indexes[position].restore(created: created, modified: modified, version: version)
            } else {
                indexes[position].put(modified)
            }
        }
    }

    /// True when the key has an index (live or with history).
    func contains(_ key: [UInt8]) -> Bool {
        lock.withReadLock { indexes.find(key) != nil }
    }

    /// Drops history before `rev`; returns the revisions at or before `rev` still needed.
    func compact(atRev rev: Int64) -> Set<Revision> {
        lock.withWriteLock {
            var kept = Set<Revision>()
            for c in indexes.chunks.indices {
                for i in indexes.chunks[c].indices {
                    indexes[SortedKeyIndexes.Position(chunk: c, offset: i)].compact(atRev: rev, kept: &kept)
                }
            }
            indexes.removeAll(where: \.isEmpty)
            return kept
        }
    }

    /// The revisions a compaction at `rev` would keep.
    func keep(atRev rev: Int64) -> Set<Revision> {
        lock.withReadLock {
            var kept = Set<Revision>()
            for chunk in indexes.chunks {
                for index in chunk { index.keep(atRev: rev, kept: &kept) }
            }
            return kept
        }
    }
}
