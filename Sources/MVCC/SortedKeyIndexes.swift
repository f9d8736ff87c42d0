/// The key indexes ordered by key: a list of sorted chunks, each at most `maxChunk` long.
/// Lookups are two binary searches; an insert moves at most one chunk's worth of elements,
/// so it stays cheap with millions of keys without the pointer chasing of a tree.
struct SortedKeyIndexes {
    private(set) var chunks: [[KeyIndex]] = []
    private(set) var count = 0
    private let maxChunk = 512

    /// Position of an element: chunk and offset inside it.
    struct Position: Equatable {
        var chunk: Int
        var offset: Int
    }

    /// The position of the first key >= `key` (nil when every key is smaller).
    func lowerBound(_ key: [UInt8]) -> Position? {
        // Compares through raw pointers: no retain of a chunk or key index per probe.
        key.withUnsafeBufferPointer { target in
            let prefix = KeyPrefix(target)
            return chunks.withUnsafeBufferPointer { chunks -> Position? in
                // First chunk whose last key is >= key.
                var low = 0
                var high = chunks.count
                while low < high {
                    let mid = (low + high) / 2
                    let isBelow = chunks[mid].withUnsafeBufferPointer { $0[$0.count - 1].compareKey(to: target, prefix: prefix) < 0 }
                    if isBelow { low = mid + 1 } else { high = mid }
                }
                guard low < chunks.count else { return nil }
                let offset = chunks[low].withUnsafeBufferPointer { chunk in
                    var lo = 0
                    var hi = chunk.count
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        if chunk[mid].compareKey(to: target, prefix: prefix) < 0 { lo = mid + 1 } else { hi = mid }
                    }
                    return lo
                }
                return Position(chunk: low, offset: offset)
            }
        }
    }

    /// The position holding exactly `key`, if present.
    func find(_ key: [UInt8]) -> Position? {
        guard let position = lowerBound(key), compareBytes(self[position].key, key) == 0 else { return nil }
        return position
    }

    subscript(position: Position) -> KeyIndex {
        get { chunks[position.chunk][position.offset] }
        _modify { yield &chunks[position.chunk][position.offset] }
    }

    /// The position after `position`, nil at the end.
    func next(_ position: Position) -> Position? {
        if position.offset + 1 < chunks[position.chunk].count {
            return Position(chunk: position.chunk, offset: position.offset + 1)
        }
        return position.chunk + 1 < chunks.count ? Position(chunk: position.chunk + 1, offset: 0) : nil
    }

    /// Inserts a key index whose key is not present yet; returns its position.
    @discardableResult
    mutating func insert(_ element: KeyIndex) -> Position {
        insert(element, at: lowerBound(element.key))
    }

    /// The position of `key`'s index, inserting an empty one if the key is new: one search.
    mutating func findOrInsert(_ key: [UInt8]) -> (position: Position, inserted: Bool) {
        let position = lowerBound(key)
        if let position, compareBytes(self[position].key, key) == 0 { return (position, false) }
        return (insert(KeyIndex(key: key), at: position), true)
    }

    /// Inserts a key index at `position`, the `lowerBound` of its key (nil: after every key),
    /// which must not be present yet; returns where it ended up.
    @discardableResult
    private mutating func insert(_ element: KeyIndex, at position: Position?) -> Position {
        count += 1
        guard let position else {
            if chunks.isEmpty || chunks[chunks.count - 1].count >= maxChunk {
                chunks.append([element])
                return Position(chunk: chunks.count - 1, offset: 0)
            }
            chunks[chunks.count - 1].append(element)
            return Position(chunk: chunks.count - 1, offset: chunks[chunks.count - 1].count - 1)
        }
        chunks[position.chunk].insert(element, at: position.offset)
        guard chunks[position.chunk].count > maxChunk else { return position }
        let half = chunks[position.chunk].count / 2
        let upper = Array(chunks[position.chunk][half...])
        chunks[position.chunk].removeSubrange(half...)
        chunks.insert(upper, at: position.chunk + 1)
        return position.offset < half
            ? position : Position(chunk: position.chunk + 1, offset: position.offset - half)
    }

    mutating func remove(at position: Position) {
        count -= 1
        chunks[position.chunk].remove(at: position.offset)
        if chunks[position.chunk].isEmpty { chunks.remove(at: position.chunk) }
    }

    /// Removes every key index for which `shouldRemove` is true, in one pass.
    mutating func removeAll(where shouldRemove: (KeyIndex) -> Bool) {
        for c in chunks.indices {
            let before = chunks[c].count
            chunks[c].removeAll(where: shouldRemove)
            count -= before - chunks[c].count
        }
        chunks.removeAll(where: \.isEmpty)
    }
}
