/// A node's view of the replicated log: the persisted part (through `Storage`) followed by the
/// unstable tail, plus the commit and apply cursors.
struct RaftLog {
    let storage: any Storage
    var unstable: UnstableLog
    /// Highest index known to be committed.
    var committed: UInt64
    /// Highest index handed to the application for applying (always <= committed).
    var applied: UInt64
    /// Byte budget for the committed entries of one `Ready`.
    let maxNextEntsSize: UInt64

    init(storage: any Storage, maxNextEntsSize: UInt64 = .max) {
        self.storage = storage
        self.maxNextEntsSize = maxNextEntsSize
        let first = storage.firstIndex()
        unstable = UnstableLog(offset: storage.lastIndex() + 1)
        committed = first - 1
        applied = first - 1
    }

    var firstIndex: UInt64 { unstable.firstIndex ?? storage.firstIndex() }

    var lastIndex: UInt64 { unstable.lastIndex ?? storage.lastIndex() }

    /// The term of entry `i`: 0 when `i` is outside the log, `.compacted` when only a snapshot
    /// covers it.
    func term(_ i: UInt64) throws(StorageError) -> UInt64 {
        // The entry before the first one is the snapshot point, whose term is still known.
        let dummy = firstIndex - 1
        if i < dummy || i > lastIndex { return 0 }
        if let t = unstable.term(i) { return t }
        do {
            return try storage.term(i)
        } catch .unavailable {
            return 0
        } catch {
            throw error
        }
    }

    /// `term(i)`, reading a compacted index as 0.
    func termOrZero(_ i: UInt64) -> UInt64 {
        (try? term(i)) ?? 0
    }

    var lastTerm: UInt64 {
        guard let t = try? term(lastIndex) else { preconditionFailure("last term unavailable") }
        return t
    }

    func matchTerm(_ i: UInt64, _ t: UInt64) -> Bool {
        guard let found = try? term(i) else { return false }
        return found == t
    }

    /// Whether a log ending at (`lastIndex`, `lastTerm`) is at least as up to date as ours (§5.4.1).
    func isUpToDate(lastIndex li: UInt64, lastTerm lt: UInt64) -> Bool {
        let mine = lastTerm
        return lt > mine || (lt == mine && li >= lastIndex)
    }

    /// Handles the entries of an append message that follow (`index`, `logTerm`). Returns the
    /// last index now known to match the leader, or nil if the log does not contain `index`
    /// with `logTerm` (the consistency check of §5.3 failed).
    mutating func maybeAppend(index: UInt64, logTerm: UInt64, committed leaderCommit: UInt64, entries: [Entry]) -> UInt64? {
        guard matchTerm(index, logTerm) else { return nil }
        let lastNew = index + UInt64(entries.count)
        let conflict = findConflict(entries)
        if conflict != 0 {
            precondition(conflict > committed, "entry \(conflict) conflicts with committed entry [committed(\(committed))]")
            let start = Int(conflict - (index + 1))
            append(entries[start...])
        }
        commitTo(min(leaderCommit, lastNew))
        return lastNew
    }

    /// Appends entries (overwriting any conflicting suffix) and returns the new last index.
    @discardableResult
    mutating func append<C: Collection<Entry>>(_ ents: C) -> UInt64 {
        guard let first = ents.first else { return lastIndex }
        precondition(first.index - 1 >= committed, "after(\(first.index - 1)) is out of range [committed(\(committed))]")
        unstable.truncateAndAppend(ents)
        return lastIndex
    }

    /// The index of the first entry of `ents` that is missing from, or conflicts with, the log;
    /// 0 if all of them are already present.
    func findConflict(_ ents: [Entry]) -> UInt64 {
        for e in ents where !matchTerm(e.index, e.term) {
            return e.index
        }
        return 0
    }

    /// Walks back from `index` to the last entry whose term is at most `term`: everything in
    /// between is certain to mismatch a log whose entry at `index` has term `term`. This lets a
    /// rejected leader skip a whole term per round trip instead of one entry.
    func findConflictByTerm(index: UInt64, term: UInt64) -> UInt64 {
        if index > lastIndex { return index }
        var i = index
        while true {
            guard let t = try? self.term(i) else { return i }
            if t <= term { return i }
            if i == 0 { return 0 }
            i -= 1
        }
    }

    /// What the application still has to persist.
    var unstableEntries: [Entry] { unstable.entries }

    /// Committed entries not yet handed out for applying, within the size budget.
    func nextEntries() -> [Entry] {
        let lo = max(applied + 1, firstIndex)
        guard committed + 1 > lo else { return [] }
        do {
            return try slice(lo, committed + 1, maxSize: maxNextEntsSize)
        } catch {
            preconditionFailure("unexpected error getting unapplied entries: \(error)")
        }
    }

    var hasNextEntries: Bool { committed + 1 > max(applied + 1, firstIndex) }

    /// The snapshot to send to a follower that needs one.
    func snapshot() throws(StorageError) -> Snapshot {
        if let s = unstable.snapshot { return s }
        return try storage.snapshot()
    }

    mutating func commitTo(_ index: UInt64) {
        guard committed < index else { return }
        precondition(lastIndex >= index,
                     "tocommit(\(index)) is out of range [lastIndex(\(lastIndex))]; was the log corrupted, truncated, or lost?")
        committed = index
    }

    mutating func appliedTo(_ index: UInt64) {
        if index == 0 { return }
        precondition(committed >= index && index >= applied,
                     "applied(\(index)) is out of range [prevApplied(\(applied)), committed(\(committed))]")
        applied = index
    }

    mutating func stableTo(index: UInt64, term: UInt64) { unstable.stableTo(index: index, term: term) }

    mutating func stableSnapTo(index: UInt64) { unstable.stableSnapTo(index: index) }

    /// Advances the commit index to `maxIndex` if that entry is from `term` (§5.4.2: a leader
    /// only commits entries of its own term by counting replicas).
    mutating func maybeCommit(_ maxIndex: UInt64, term: UInt64) -> Bool {
        if maxIndex > committed && termOrZero(maxIndex) == term {
            commitTo(maxIndex)
            return true
        }
        return false
    }

    /// Replaces the log with a snapshot.
    mutating func restore(_ s: Snapshot) {
        committed = s.metadata.index
        unstable.restore(s)
    }

    /// Entries from `lo` to the end, within `maxSize`.
    func entries(from lo: UInt64, maxSize: UInt64) throws(StorageError) -> [Entry] {
        if lo > lastIndex { return [] }
        return try slice(lo, lastIndex + 1, maxSize: maxSize)
    }

    /// Every entry currently in the log (tests and debugging).
    func allEntries() -> [Entry] {
        (try? entries(from: firstIndex, maxSize: .max)) ?? []
    }

    /// Entries in `lo..<hi` within `maxSize`, stitched from storage and the unstable tail.
    func slice(_ lo: UInt64, _ hi: UInt64, maxSize: UInt64) throws(StorageError) -> [Entry] {
        precondition(lo <= hi, "invalid slice \(lo) > \(hi)")
        if lo < firstIndex { throw .compacted }
        precondition(hi <= lastIndex + 1, "slice[\(lo),\(hi)) out of bound [\(firstIndex),\(lastIndex)]")
        if lo == hi { return [] }
        let split = unstable.offset
        if lo >= split {
            let tail = unstable.slice(lo, hi)
            return Array(tail.prefix(countWithinSize(tail, maxSize)))
        }
        var ents: [Entry]
        do {
            ents = try storage.entries(lo, min(hi, split), maxSize: maxSize)
        } catch .unavailable {
            preconditionFailure("entries[\(lo):\(min(hi, split))) is unavailable from storage")
        } catch {
            throw error
        }
        // Storage stopped early because of the size limit: we are done.
        if UInt64(ents.count) < min(hi, split) - lo || hi <= split { return ents }
        let tail = unstable.slice(split, hi)
        var size: UInt64 = 0
        for e in ents { size &+= e.sizeEstimate }
        for e in tail {
            size &+= e.sizeEstimate
            if size > maxSize { break }
            ents.append(e)
        }
        return ents
    }
}
