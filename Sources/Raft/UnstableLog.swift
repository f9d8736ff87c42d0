/// The tail of the log that the application has not persisted yet: possibly an incoming
/// snapshot, then entries starting at `offset`. Everything here is handed out in `Ready` and
/// dropped once the application reports it stable (`advance()`).
struct UnstableLog {
    /// A snapshot received from the leader and not yet persisted.
    var snapshot: Snapshot?
    /// Unpersisted entries; `entries[0]` has index `offset`.
    var entries: [Entry] = []
    var offset: UInt64

    init(offset: UInt64) {
        self.offset = offset
    }

    /// The first index, if there is an unstable snapshot (otherwise storage knows).
    var firstIndex: UInt64? {
        snapshot.map { $0.metadata.index + 1 }
    }

    /// The last index, if anything is unstable.
    var lastIndex: UInt64? {
        if !entries.isEmpty { return offset + UInt64(entries.count) - 1 }
        return snapshot?.metadata.index
    }

    /// The term of entry `i`, if this part of the log knows it.
    func term(_ i: UInt64) -> UInt64? {
        if i < offset {
            if let s = snapshot, s.metadata.index == i { return s.metadata.term }
            return nil
        }
        guard let last = lastIndex, i <= last else { return nil }
        return entries[Int(i - offset)].term
    }

    /// Entries up to `index` (with term `term`) are persisted; drop them. Ignored if the entry
    /// at `index` has since been replaced by one of another term.
    mutating func stableTo(index: UInt64, term: UInt64) {
        guard let t = self.term(index), t == term, index >= offset else { return }
        let n = Int(index + 1 - offset)
        if n >= entries.count {
            entries = []
        } else {
            entries.removeFirst(n)
        }
        offset = index + 1
    }

    /// The snapshot at `index` is persisted.
    mutating func stableSnapTo(index: UInt64) {
        if let s = snapshot, s.metadata.index == index { snapshot = nil }
    }

    /// Replaces everything with a snapshot received from the leader.
    mutating func restore(_ s: Snapshot) {
        offset = s.metadata.index + 1
        entries = []
        snapshot = s
    }

    /// Appends `ents`, first truncating whatever they overwrite.
    mutating func truncateAndAppend<C: Collection<Entry>>(_ ents: C) {
        guard let after = ents.first?.index else { return }
        if after == offset + UInt64(entries.count) {
            entries.append(contentsOf: ents)
        } else if after <= offset {
            // Replaces every unstable entry (and possibly some stable ones, which the storage
            // overwrites when these are persisted).
            offset = after
            entries = Array(ents)
        } else {
            entries.removeSubrange(Int(after - offset)...)
            entries.append(contentsOf: ents)
        }
    }

    /// Entries in `lo..<hi`, which must lie within this unstable tail.
    func slice(_ lo: UInt64, _ hi: UInt64) -> ArraySlice<Entry> {
        precondition(lo <= hi && lo >= offset && hi <= offset + UInt64(entries.count),
                     "unstable.slice[\(lo),\(hi)) out of bound [\(offset),\(offset + UInt64(entries.count))]")
        return entries[Int(lo - offset)..<Int(hi - offset)]
    }
}
