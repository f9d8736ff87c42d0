import HarnessSupport
import Testing
@testable import MVCC

@Suite struct KeyIndexTests {
    func rev(_ main: Int64, _ sub: Int64 = 0) -> Revision { Revision(main: main, sub: sub) }

    /// The key from etcd's own example: put at 2, 4, 6(tomb), then 8, 10, 12(tomb), then 14, 16.
    func threeGenerations() -> KeyIndex {
        var index = KeyIndex(key: Array("foo".utf8))
        index.put(rev(2))
        index.put(rev(4))
        let tombstoned6 = index.tombstone(rev(6))
        #expect(tombstoned6)
        index.put(rev(8))
        index.put(rev(10))
        let tombstoned12 = index.tombstone(rev(12))
        #expect(tombstoned12)
        index.put(rev(14))
        index.put(rev(16))
        return index
    }

    @Test func getFollowsGenerations() {
        let index = threeGenerations()
        #expect(index.get(atRev: 1) == nil)
        #expect(index.get(atRev: 2)?.modified == rev(2))
        #expect(index.get(atRev: 3)?.version == 1)
        #expect(index.get(atRev: 5)?.version == 2)
        #expect(index.get(atRev: 6) == nil, "deleted at 6")
        #expect(index.get(atRev: 7) == nil)
        #expect(index.get(atRev: 9)?.created == rev(8))
        #expect(index.get(atRev: 13) == nil)
        #expect(index.get(atRev: 100)?.modified == rev(16))
        #expect(index.get(atRev: 100)?.version == 2)
    }

    @Test func compactKeepsNewestRevisionAtOrBefore() {
        var index = threeGenerations()
        var kept = Set<Revision>()
        index.compact(atRev: 5, kept: &kept)
        #expect(kept == [rev(4)])
        #expect(index.get(atRev: 5)?.modified == rev(4))
        #expect(index.generations.count == 3)

        kept = []
        index.compact(atRev: 6, kept: &kept)
        #expect(kept.isEmpty, "the generation ended at 6: nothing left to keep")
        #expect(index.generations.count == 2)

        kept = []
        index.compact(atRev: 15, kept: &kept)
        #expect(kept == [rev(14)])
        #expect(index.generations.count == 1)
        #expect(index.generations[0].revisions == [rev(14), rev(16)])
    }

    @Test func compactAfterFinalTombstoneEmptiesTheKey() {
        var index = KeyIndex(key: [1])
        index.put(rev(2))
        let tombstoned3 = index.tombstone(rev(3))
        #expect(tombstoned3)
        var kept = Set<Revision>()
        index.compact(atRev: 3, kept: &kept)
        #expect(index.isEmpty)
        #expect(kept.isEmpty)
    }

    @Test func tombstoneOfDeletedKeyIsRefused() {
        var index = KeyIndex(key: [1])
        index.put(rev(2))
        let tombstoned3 = index.tombstone(rev(3))
        #expect(tombstoned3)
        let again = index.tombstone(rev(4))
        #expect(!again)
    }

    @Test func revisionsSinceKeepsLastChangePerMainRevision() {
        var index = KeyIndex(key: [1])
        index.put(rev(2, 0))
        index.put(rev(3, 0))
        index.put(rev(3, 1))
        index.put(rev(5, 0))
        #expect(index.revisions(since: 3) == [rev(3, 1), rev(5, 0)])
    }

    @Test func sortedIndexesStayOrderedThroughSplits() {
        var indexes = SortedKeyIndexes()
        var generator = SplitMix64(seed: 7)
        var inserted = Set<[UInt8]>()
        for _ in 0..<5000 {
            let key = (0..<Int(generator.next() % 4 + 1)).map { _ in UInt8(generator.next() % 8) }
            if inserted.insert(key).inserted {
                indexes.insert(KeyIndex(key: key))
            }
        }
        var flattened: [[UInt8]] = []
        for chunk in indexes.chunks { flattened.append(contentsOf: chunk.map(\.key)) }
        #expect(flattened.count == inserted.count)
        #expect(flattened == inserted.sorted { compareBytes($0, $1) < 0 })
        for key in inserted { #expect(indexes.find(key) != nil) }
    }

    /// Searches compare keys by their first eight bytes before reading them; that shortcut
    /// must order keys exactly as byte-wise comparison does, with short keys, zero bytes,
    /// and long keys that share their first eight bytes.
    @Test func prefixShortcutOrdersKeysLikeBytewiseComparison() {
        var generator = SplitMix64(seed: 11)
        func randomKey() -> [UInt8] {
            let shared: [UInt8] = generator.next() % 2 == 0 ? Array("/registry/".utf8) : []
            let tail = (0..<Int(generator.next() % 12)).map { _ in UInt8(generator.next() % 3) }
            return shared + tail
        }
        for _ in 0..<20_000 {
            let a = randomKey()
            let b = randomKey()
            let byBytes = compareBytes(a, b).signum()
            let pa = a.withUnsafeBufferPointer(KeyPrefix.init)
            let pb = b.withUnsafeBufferPointer(KeyPrefix.init)
            if pa != pb { #expect((pa < pb ? -1 : 1) == byBytes, "\(a) vs \(b)") }
            let shortcut = b.withUnsafeBufferPointer { KeyIndex(key: a).compareKey(to: $0, prefix: pb) }
            #expect(shortcut.signum() == byBytes, "\(a) vs \(b)")
        }

        var indexes = SortedKeyIndexes()
        var inserted = Set<[UInt8]>()
        for _ in 0..<3000 {
            let key = randomKey()
            if inserted.insert(key).inserted { indexes.insert(KeyIndex(key: key)) }
        }
        let sorted = inserted.sorted { compareBytes($0, $1) < 0 }
        for _ in 0..<2000 {
            let probe = randomKey()
            let expected = sorted.first { compareBytes($0, probe) >= 0 }
            #expect(indexes.lowerBound(probe).map { indexes[$0].key } == expected, "lowerBound of \(probe)")
        }
    }

    /// A put reports what it made of the key, as `get` sees it afterwards: the write path
    /// relies on it instead of looking the key up twice.
    @Test func treePutReportsCreateRevisionAndVersion() {
        let tree = KeyIndexTree()
        let foo = Array("foo".utf8)
        #expect(tree.put(foo, rev(2)) == (rev(2), 1))
        #expect(tree.put(Array("bar".utf8), rev(3)) == (rev(3), 1), "a new key before an existing one")
        #expect(tree.put(foo, rev(4)) == (rev(2), 2))
        #expect(tree.tombstone(foo, rev(5)))
        #expect(tree.put(foo, rev(6, 1)) == (rev(6, 1), 1), "a deleted key starts a new generation")
        let seen = tree.get(foo, atRev: 6)
        #expect(seen?.created == rev(6, 1) && seen?.version == 1)
        #expect(tree.keyCount == 2)
    }
}

