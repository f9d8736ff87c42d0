import Testing
@testable import Raft

/// The log: MemoryStorage, the unstable tail, and RaftLog stitching them together.
@Suite struct LogTests {
    func ents(_ terms: [UInt64], from start: UInt64 = 1) -> [Entry] {
        terms.enumerated().map { Entry(term: $0.element, index: start + UInt64($0.offset)) }
    }

    @Test func memoryStorageBasics() throws {
        let s = MemoryStorage()
        #expect(s.firstIndex() == 1 && s.lastIndex() == 0)
        s.append(ents([1, 1, 2]))
        #expect(s.lastIndex() == 3)
        #expect(try s.term(3) == 2)
        #expect(try s.term(0) == 0)
        #expect(throws: StorageError.unavailable) { try s.term(4) }
        #expect(try s.entries(1, 4, maxSize: .max).count == 3)
        #expect(try s.entries(1, 4, maxSize: 0).count == 1, "at least one entry")
        // Overwrite a suffix.
        s.append(ents([3, 3], from: 3))
        #expect(try s.entries(1, 5, maxSize: .max).map(\.term) == [1, 1, 3, 3])
        // Snapshot and compaction.
        try s.createSnapshot(at: 3, confState: ConfState(voters: [1]), data: [7])
        try s.compact(3)
        #expect(s.firstIndex() == 4)
        #expect(try s.term(3) == 3)
        #expect(throws: StorageError.compacted) { try s.term(2) }
        #expect(throws: StorageError.compacted) { try s.entries(3, 5, maxSize: .max) }
        #expect(throws: StorageError.compacted) { try s.compact(2) }
        #expect(throws: StorageError.snapshotOutOfDate) { try s.createSnapshot(at: 2, confState: nil, data: []) }
        #expect(s.initialState().confState == ConfState(voters: [1]))
        // Appending entries partly covered by the snapshot keeps only the new part.
        s.append(ents([3, 3, 4], from: 2))
        #expect(try s.entries(4, 5, maxSize: .max).map(\.term) == [4])
        try s.applySnapshot(Snapshot(metadata: SnapshotMetadata(index: 10, term: 5)))
        #expect(s.firstIndex() == 11 && s.lastIndex() == 10)
        #expect(throws: StorageError.snapshotOutOfDate) { try s.applySnapshot(Snapshot(metadata: SnapshotMetadata(index: 9, term: 5))) }
    }

    @Test func unstableStableTo() {
        var u = UnstableLog(offset: 5)
        u.truncateAndAppend(ents([1, 1, 2], from: 5)[...])
        u.stableTo(index: 5, term: 1)
        #expect(u.offset == 6 && u.entries.count == 2)
        u.stableTo(index: 7, term: 1)  // wrong term: ignored
        #expect(u.offset == 6)
        u.stableTo(index: 7, term: 2)
        #expect(u.entries.isEmpty && u.offset == 8)
    }

    @Test func unstableTruncateAndAppend() {
        var u = UnstableLog(offset: 5)
        u.truncateAndAppend(ents([1, 1, 1], from: 5)[...])
        u.truncateAndAppend(ents([2, 2], from: 8)[...])   // append
        #expect(u.entries.map(\.term) == [1, 1, 1, 2, 2])
        u.truncateAndAppend(ents([3], from: 7)[...])       // truncate inside
        #expect(u.entries.map(\.term) == [1, 1, 3])
        u.truncateAndAppend(ents([4, 4], from: 4)[...])    // replace everything (before offset)
        #expect(u.offset == 4 && u.entries.map(\.term) == [4, 4])
    }

    @Test func raftLogStitchesStorageAndUnstable() throws {
        let s = MemoryStorage()
        s.append(ents([1, 1, 2]))
        var l = RaftLog(storage: s)
        #expect(l.lastIndex == 3)
        l.append(ents([2, 3], from: 4)[...])
        #expect(l.lastIndex == 5)
        #expect(try l.slice(2, 6, maxSize: .max).map(\.term) == [1, 2, 2, 3])
        // Size limit across the seam: 24 bytes of overhead per empty entry.
        #expect(try l.slice(1, 6, maxSize: 24 * 4).count == 4)
        #expect(try l.term(5) == 3)
        #expect(try l.term(6) == 0)
        #expect(l.isUpToDate(lastIndex: 5, lastTerm: 3))
        #expect(!l.isUpToDate(lastIndex: 4, lastTerm: 3))
        #expect(l.isUpToDate(lastIndex: 1, lastTerm: 4))
    }

    @Test func maybeAppendHandlesConflictsAndCommit() {
        var l = RaftLog(storage: storageWith(terms: [1, 2, 3]))
        l.committed = 1
        // Mismatched predecessor.
        #expect(l.maybeAppend(index: 3, logTerm: 2, committed: 3, entries: []) == nil)
        // Matching, nothing new: commit moves to min(leader commit, last new).
        #expect(l.maybeAppend(index: 2, logTerm: 2, committed: 9, entries: []) == 2)
        #expect(l.committed == 2)
        // Conflict at 3: truncated and replaced.
        #expect(l.maybeAppend(index: 2, logTerm: 2, committed: 2, entries: ents([4, 4], from: 3)) == 4)
        #expect(l.allEntries().map(\.term) == [1, 2, 4, 4])
        // Already present entries: no change.
        #expect(l.maybeAppend(index: 1, logTerm: 1, committed: 2, entries: ents([2], from: 2)) == 2)
        #expect(l.allEntries().map(\.term) == [1, 2, 4, 4])
    }

    @Test func findConflictByTerm() {
        let l = RaftLog(storage: storageWith(terms: [1, 1, 2, 2, 5, 5, 5]))
        #expect(l.findConflictByTerm(index: 7, term: 5) == 7)
        #expect(l.findConflictByTerm(index: 7, term: 4) == 4)
        #expect(l.findConflictByTerm(index: 7, term: 1) == 2)
        #expect(l.findConflictByTerm(index: 7, term: 0) == 0)
        #expect(l.findConflictByTerm(index: 9, term: 3) == 9, "beyond the log: unchanged")
    }

    @Test func nextEntriesRespectAppliedAndSize() {
        let s = storageWith(terms: [1, 1, 1, 1, 1])
        var l = RaftLog(storage: s, maxNextEntsSize: 50)
        l.commitTo(4)
        #expect(l.nextEntries().map(\.index) == [1, 2])
        l.appliedTo(2)
        #expect(l.nextEntries().map(\.index) == [3, 4])
        l.appliedTo(4)
        #expect(!l.hasNextEntries)
    }

    @Test func restoreSnapshotResetsLog() {
        var l = RaftLog(storage: storageWith(terms: [1, 1]))
        let snap = Snapshot(metadata: SnapshotMetadata(index: 10, term: 3))
        l.restore(snap)
        #expect(l.committed == 10)
        #expect(l.lastIndex == 10 && l.firstIndex == 11)
        #expect(l.lastTerm == 3)
        #expect(throws: StorageError.compacted) { try l.slice(5, 6, maxSize: .max) }
    }
}
