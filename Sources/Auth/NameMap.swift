/// A dictionary by name, split into shards so that changing one entry copies one shard, not
/// all of them, when an older copy is still shared: each auth change makes a new state while
/// checks keep reading the old one, and with 10,000 users a whole-dictionary copy per change
/// would make adding users quadratic.
public struct NameMap<Value: Sendable>: Sendable, Sequence {
    private static var shardCount: Int { 64 }
    private var shards = [[String: Value]](repeating: [:], count: NameMap.shardCount)

    /// An empty map.
    public init() {}

    private static func shard(of name: String) -> Int {
        Int(UInt(bitPattern: name.hashValue) % UInt(shardCount))
    }

    /// The value under `name`.
    public subscript(name: String) -> Value? {
        get { shards[Self.shard(of: name)][name] }
        set { shards[Self.shard(of: name)][name] = newValue }
    }

    /// The value under `name`, or `fallback` (stored on the first change).
    public subscript(name: String, default fallback: @autoclosure () -> Value) -> Value {
        get { self[name] ?? fallback() }
        set { self[name] = newValue }
    }

    /// Removes and returns the value under `name`.
    @discardableResult
    public mutating func removeValue(forKey name: String) -> Value? {
        shards[Self.shard(of: name)].removeValue(forKey: name)
    }

    /// Every name, in no particular order.
    public var keys: [String] { shards.flatMap(\.keys) }

    /// The number of entries.
    public var count: Int { shards.reduce(0) { $0 + $1.count } }

    /// The entries, in no particular order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: Value)]> {
        shards.flatMap { $0.map { (key: $0.key, value: $0.value) } }.makeIterator()
    }
}

extension NameMap: Equatable where Value: Equatable {
    public static func == (lhs: NameMap, rhs: NameMap) -> Bool {
        lhs.count == rhs.count && lhs.allSatisfy { rhs[$0.key] == $0.value }
    }
}
