/// A `Storage` kept entirely in memory: the reference implementation, used by tests, the
/// simulator and the benchmark, and usable as the in-memory cache in front of a WAL.
///
/// Not thread-safe: like the `RawNode` it serves, it belongs to one task.
public final class MemoryStorage: Storage {
    /// The hard state last recorded with `setHardState`.
    public private(set) var hardState: HardState
    /// The latest snapshot (index 0 when there is none).
    public private(set) var latestSnapshot: Snapshot
    /// `ents[0]` is a placeholder holding the index and term of the entry before the first
    /// available one (the snapshot point); real entries follow.
    private var ents: [Entry]

    /// An empty storage: no entries, no snapshot, empty hard state.
    public init() {
        hardState = HardState()
        latestSnapshot = Snapshot()
        ents = [Entry(term: 0, index: 0)]
    }

    /// The recorded hard state and the latest snapshot's configuration.
    public func initialState() -> (hardState: HardState, confState: ConfState) {
        (hardState, latestSnapshot.metadata.confState)
    }

    /// Records the hard state (the application calls this when a `Ready` carries one).
    public func setHardState(_ state: HardState) {
        hardState = state
    }

    private var offset: UInt64 { ents[0].index }

    /// Index of the last entry (the snapshot index when there are none).
    public func lastIndex() -> UInt64 { offset + UInt64(ents.count) - 1 }

    /// Index of the first available entry.
    public func firstIndex() -> UInt64 { offset + 1 }

    /// Entries in `lo..<hi` within `maxSize` bytes (at least one).
    public func entries(_ lo: UInt64, _ hi: UInt64, maxSize: UInt64) throws(StorageError) -> [Entry] {
        if lo <= offset { throw .compacted }
        precondition(hi <= lastIndex() + 1, "entries hi \(hi) beyond last index \(lastIndex())")
        if ents.count == 1 { throw .unavailable }
        let slice = ents[Int(lo - offset)..<Int(hi - offset)]
        return Array(slice.prefix(countWithinSize(slice, maxSize)))
    }

    /// The term of entry `index` (including the snapshot point).
    public func term(_ index: UInt64) throws(StorageError) -> UInt64 {
        if index < offset { throw .compacted }
        if index - offset >= UInt64(ents.count) { throw .unavailable }
        return ents[Int(index - offset)].term
    }

    /// The latest snapshot.
    public func snapshot() throws(StorageError) -> Snapshot { latestSnapshot }

    /// Replaces the whole log with `snapshot` (as when a follower installs one from its leader).
    /// Throws `.snapshotOutOfDate` if it is not newer than the current snapshot.
    public func applySnapshot(_ snapshot: Snapshot) throws(StorageError) {
        if latestSnapshot.metadata.index >= snapshot.metadata.index { throw .snapshotOutOfDate }
        latestSnapshot = snapshot
        ents = [Entry(term: snapshot.metadata.term, index: snapshot.metadata.index)]
    }

    /// Makes a snapshot at `index` (which must be applied, and within the log) from the
    /// application's state `data`, recording `confState` if given. Does not compact; call
    /// `compact(_:)` afterwards to drop the entries it covers.
    @discardableResult
    public func createSnapshot(at index: UInt64, confState: ConfState?, data: [UInt8]) throws(StorageError) -> Snapshot {
        if index <= latestSnapshot.metadata.index { throw .snapshotOutOfDate }
        precondition(index <= lastIndex(), "snapshot \(index) beyond last index \(lastIndex())")
        latestSnapshot.metadata.index = index
        latestSnapshot.metadata.term = ents[Int(index - offset)].term
        if let cs = confState { latestSnapshot.metadata.confState = cs }
        latestSnapshot.data = data
        return latestSnapshot
    }

    /// Discards every entry before `compactIndex`; the entry at `compactIndex` becomes the new
    /// placeholder. The application must not compact past its applied index.
    public func compact(_ compactIndex: UInt64) throws(StorageError) {
        if compactIndex <= offset { throw .compacted }
        precondition(compactIndex <= lastIndex(), "compact \(compactIndex) beyond last index \(lastIndex())")
        let i = Int(compactIndex - offset)
        var kept: [Entry] = []
        kept.reserveCapacity(ents.count - i)
        kept.append(Entry(term: ents[i].term, index: ents[i].index))
        kept.append(contentsOf: ents[(i + 1)...])
        ents = kept
    }

    /// Appends entries handed out by a `Ready`, replacing any conflicting suffix. Entries
    /// already covered by the snapshot are ignored; a gap after the last entry is a bug.
    public func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        let firstAvailable = firstIndex()
        let last = first.index + UInt64(entries.count) - 1
        if last < firstAvailable { return }
        var incoming = entries[...]
        if firstAvailable > first.index {
            incoming = incoming.dropFirst(Int(firstAvailable - first.index))
        }
        let at = Int(incoming.first!.index - offset)
        precondition(at <= ents.count, "missing log entry [last: \(lastIndex()), append at: \(incoming.first!.index)]")
        if at < ents.count {
            ents.removeSubrange(at...)
        }
        ents.append(contentsOf: incoming)
    }
}
