/// Read access to the durable part of a node's log, owned by the application.
///
/// Raft reads entries, terms and the latest snapshot through this protocol; it never writes to
/// it. The application persists what each `Ready` hands out (entries, hard state, snapshot)
/// *before* calling `RawNode.advance()`, so that by then the storage reflects them.
/// Conforming types are reference types because Raft and the application share one instance.
///
/// Index conventions: the log covers `firstIndex()...lastIndex()`; the entry just before
/// `firstIndex()` is the one the latest snapshot (or compaction) ended at, whose term is still
/// known through `term(_:)`.
public protocol Storage: AnyObject {
    /// The persisted hard state and the configuration of the latest snapshot (or of the log).
    func initialState() -> (hardState: HardState, confState: ConfState)

    /// Entries in `lo..<hi`, truncated to about `maxSize` bytes (see `Entry.sizeEstimate`) but
    /// never to fewer than one entry. Throws `.compacted` if `lo` is below `firstIndex()`.
    func entries(_ lo: UInt64, _ hi: UInt64, maxSize: UInt64) throws(StorageError) -> [Entry]

    /// The term of entry `index`, which may be `firstIndex() - 1`. Throws `.compacted` below that
    /// and `.unavailable` above `lastIndex()`.
    func term(_ index: UInt64) throws(StorageError) -> UInt64

    /// Index of the last entry (the snapshot index when the log is empty).
    func lastIndex() -> UInt64

    /// Index of the first entry still available (snapshot index + 1).
    func firstIndex() -> UInt64

    /// The most recent snapshot. Throws `.snapshotTemporarilyUnavailable` if it is being built.
    func snapshot() throws(StorageError) -> Snapshot
}

/// How many leading entries of `entries` fit in `maxSize` bytes (at least one if any).
func countWithinSize(_ entries: ArraySlice<Entry>, _ maxSize: UInt64) -> Int {
    if entries.isEmpty { return 0 }
    if maxSize == .max { return entries.count }
    var size: UInt64 = 0
    var n = 0
    for e in entries {
        size &+= e.sizeEstimate
        if n > 0 && size > maxSize { break }
        n += 1
    }
    return n
}
