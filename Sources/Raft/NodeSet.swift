/// A set of node ids kept sorted, so iteration order never depends on hashing (which Swift
/// randomizes per process) and Raft stays deterministic. Cluster sizes are small, so a sorted
/// array beats a hash set here.
public struct NodeSet: Sendable, Hashable, Sequence, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The ids in ascending order, without duplicates.
    public private(set) var ids: [UInt64]

    /// The empty set.
    public init() { ids = [] }

    /// The set of the given ids (duplicates collapse).
    public init<S: Sequence>(_ ids: S) where S.Element == UInt64 {
        var sorted = Array(ids)
        sorted.sort()
        var unique: [UInt64] = []
        unique.reserveCapacity(sorted.count)
        for id in sorted where unique.last != id { unique.append(id) }
        self.ids = unique
    }

    /// The set of the listed ids.
    public init(arrayLiteral elements: UInt64...) { self.init(elements) }

    /// Number of ids.
    public var count: Int { ids.count }
    /// True when there are no ids.
    public var isEmpty: Bool { ids.isEmpty }

    /// Whether `id` is in the set (binary search).
    public func contains(_ id: UInt64) -> Bool { position(of: id).found }

    /// Adds `id`; returns false if it was already present.
    @discardableResult
    public mutating func insert(_ id: UInt64) -> Bool {
        let (i, found) = position(of: id)
        if found { return false }
        ids.insert(id, at: i)
        return true
    }

    /// Removes `id`; returns false if it was absent.
    @discardableResult
    public mutating func remove(_ id: UInt64) -> Bool {
        let (i, found) = position(of: id)
        if !found { return false }
        ids.remove(at: i)
        return true
    }

    /// The union with `other`.
    public func union(_ other: NodeSet) -> NodeSet {
        var out = self
        for id in other.ids { out.insert(id) }
        return out
    }

    /// Iterates in ascending order.
    public func makeIterator() -> IndexingIterator<[UInt64]> { ids.makeIterator() }

    /// `(1 2 3)`.
    public var description: String { "(" + ids.map(String.init).joined(separator: " ") + ")" }

    private func position(of id: UInt64) -> (index: Int, found: Bool) {
        var lo = 0
        var hi = ids.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ids[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < ids.count && ids[lo] == id)
    }
}
