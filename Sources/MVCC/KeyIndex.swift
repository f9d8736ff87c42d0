/// One life of a key: from the put that created it to the delete (tombstone) that ended it.
/// The last generation of a key is open (no tombstone yet) or empty (the key is deleted).
struct Generation: Equatable {
    /// Number of writes in this generation (the `version` of its newest revision).
    var version: Int64 = 0
    var created = Revision(main: 0)
    var revisions: [Revision] = []

    var isEmpty: Bool { revisions.isEmpty }
}

/// The revision history of one key, as in etcd's key index: a list of generations, oldest
/// first. A deleted key ends with an empty generation.
struct KeyIndex {
    let key: [UInt8]
    /// The key's first bytes, kept beside it so that a search rarely reads the key itself.
    let prefix: KeyPrefix
    private(set) var modified = Revision(main: 0)
    private(set) var generations: [Generation] = [Generation()]

    init(key: [UInt8]) {
        self.key = key
        prefix = key.withUnsafeBufferPointer(KeyPrefix.init)
    }

    /// `compareBytes(key, target)` for a target whose prefix is `targetPrefix`, reading the
    /// key only when the prefixes tie.
    @inline(__always)
    func compareKey(to target: UnsafeBufferPointer<UInt8>, prefix targetPrefix: KeyPrefix) -> Int {
        if prefix != targetPrefix { return prefix < targetPrefix ? -1 : 1 }
        return compareBytes(key, target)
    }

    /// True when nothing is left of the key (only an empty generation).
    var isEmpty: Bool { generations.count == 1 && generations[0].isEmpty }

    /// True when the key does not exist now: new, or deleted and not written since.
    var isDeleted: Bool { generations[generations.count - 1].isEmpty }

    /// Records a write of the key at `revision`, which must be newer than any before.
    mutating func put(_ revision: Revision) {
        precondition(revision > modified, "key index: put at \(revision) is not after \(modified)")
        let last = generations.count - 1
        if generations[last].isEmpty {
            generations[last].created = revision
        }
        generations[last].revisions.append(revision)
        generations[last].version += 1
        modified = revision
    }

    /// The open generation's create revision and version.
    var current: (created: Revision, version: Int64) {
        let last = generations[generations.count - 1]
        return (last.created, last.version)
    }

    /// Rebuilds the key from its newest stored revision (after compaction removed older ones).
    mutating func restore(created: Revision, modified: Revision, version: Int64) {
        precondition(isEmpty, "key index: restore into a non-empty key")
        self.modified = modified
        generations = [Generation(version: version, created: created, revisions: [modified])]
    }

    /// Records a deletion at `revision` and opens a new, empty generation.
    /// Returns false (and changes nothing) when the key is already deleted.
    mutating func tombstone(_ revision: Revision) -> Bool {
        guard !generations[generations.count - 1].isEmpty else { return false }
        put(revision)
        generations.append(Generation())
        return true
    }

    /// The key's state as of main revision `atRev`: the revision holding its value, its
    /// creation revision and its version; nil when the key did not exist then.
    func get(atRev: Int64) -> (modified: Revision, created: Revision, version: Int64)? {
        guard let g = generationIndex(containing: atRev) else { return nil }
        let generation = generations[g]
        guard let n = generation.revisions.lastIndex(where: { $0.main <= atRev }) else { return nil }
        let newerInGeneration = Int64(generation.revisions.count - n - 1)
        return (generation.revisions[n], generation.created, generation.version - newerInGeneration)
    }

    /// The revisions since main revision `rev` (inclusive), keeping only the last change of
    /// each main revision; used by watchers catching up.
    func revisions(since rev: Int64) -> [Revision] {
        let since = Revision(main: rev)
        var start = generations.count - 1
        while start > 0 {
            let generation = generations[start]
            if !generation.isEmpty, since > generation.created { break }
            start -= 1
        }
        var result: [Revision] = []
        for generation in generations[start...] {
            for revision in generation.revisions where revision >= since {
                if let last = result.last, last.main == revision.main {
                    result[result.count - 1] = revision
                } else {
                    result.append(revision)
                }
            }
        }
        return result
    }

    /// Drops history older than main revision `atRev`, keeping the newest revision at or
    /// before it when the key still lived then. Every revision kept at or before `atRev` is
    /// added to `kept` (the backend deletes the others).
    mutating func compact(atRev: Int64, kept: inout Set<Revision>) {
        let (g, keptIndex) = locateCompaction(atRev: atRev, kept: &kept)
        if !generations[g].isEmpty {
            if let keptIndex {
                generations[g].revisions.removeFirst(keptIndex)
            }
            // Only the tombstone of a finished generation is left: the key is gone by atRev.
            if generations[g].revisions.count == 1 && g != generations.count - 1 {
                kept.remove(generations[g].revisions[0])
                generations.removeFirst(g + 1)
                return
            }
        }
        generations.removeFirst(g)
    }

    /// What `compact(atRev:kept:)` would keep, without changing anything.
    func keep(atRev: Int64, kept: inout Set<Revision>) {
        guard !isEmpty else { return }
        let (g, keptIndex) = locateCompaction(atRev: atRev, kept: &kept)
        let generation = generations[g]
        if !generation.isEmpty, keptIndex == generation.revisions.count - 1, g != generations.count - 1 {
            kept.remove(generation.revisions[keptIndex!])
        }
    }

    /// The first generation that survives a compaction at `atRev` (every earlier one ended
    /// by then) and the index of its newest revision at or before `atRev`, which is kept.
    private func locateCompaction(atRev: Int64, kept: inout Set<Revision>) -> (Int, Int?) {
        var g = 0
        while g < generations.count - 1 {
            let tombstone = generations[g].revisions[generations[g].revisions.count - 1]
            if tombstone.main > atRev { break }
            g += 1
        }
        let index = generations[g].revisions.lastIndex(where: { $0.main <= atRev })
        if let index { kept.insert(generations[g].revisions[index]) }
        return (g, index)
    }

    /// The generation that held the key at main revision `rev`, if the key existed then.
    private func generationIndex(containing rev: Int64) -> Int? {
        let last = generations.count - 1
        var g = last
        while g >= 0 {
            let generation = generations[g]
            if generation.isEmpty {
                g -= 1
                continue
            }
            if g != last, generation.revisions[generation.revisions.count - 1].main <= rev {
                // The key was deleted (this generation's tombstone) at or before rev.
                return nil
            }
            if generation.revisions[0].main <= rev { return g }
            g -= 1
        }
        return nil
    }
}
