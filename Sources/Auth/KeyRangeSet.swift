/// A union of key ranges, kept as sorted, disjoint intervals `[start, end)` (bytewise order;
/// no `end` means to the end of the key space), with touching intervals merged. Answers
/// "is this key in it" and "is this whole range in it" by binary search, so checking a
/// request costs O(log n) in the number of the user's permissions.
public struct KeyRangeSet: Sendable, Equatable {
    struct Interval: Sendable, Equatable {
        var start: [UInt8]
        /// nil: unbounded.
        var end: [UInt8]?
    }

    private(set) var intervals: [Interval] = []

    /// The empty set.
    public init() {}

    /// The union of `ranges`, each given as etcd gives a permission: an empty `end` is the
    /// single key `start`, an `end` of `[0]` is everything from `start` on.
    public init(_ ranges: [(start: [UInt8], end: [UInt8])]) {
        var pieces: [Interval] = []
        for range in ranges {
            guard let interval = Self.interval(start: range.start, end: range.end) else { continue }
            pieces.append(interval)
        }
        pieces.sort { $0.start.lexicographicallyPrecedes($1.start) }
        for piece in pieces {
            if var last = intervals.last, !Self.before(last.end, piece.start) {
                // Overlapping or touching: extend the last interval.
                if let lastEnd = last.end {
                    last.end = piece.end.map { lastEnd.lexicographicallyPrecedes($0) ? $0 : lastEnd }
                }
                intervals[intervals.count - 1] = last
            } else {
                intervals.append(piece)
            }
        }
    }

    /// Whether `key` lies in the set.
    public func contains(_ key: [UInt8]) -> Bool {
        guard let interval = containing(key) else { return false }
        return interval.end.map { key.lexicographicallyPrecedes($0) } ?? true
    }

    /// Whether all of the range is in the set, given as a request gives it: an empty `end`
    /// is the single key, `[0]` everything from `start` on. An empty range (`end` not after
    /// `start`) is judged by its start key.
    public func covers(start: [UInt8], end: [UInt8]) -> Bool {
        if end.isEmpty || (end != [0] && !start.lexicographicallyPrecedes(end)) { return contains(start) }
        guard let interval = containing(start), interval.end.map({ start.lexicographicallyPrecedes($0) }) ?? true else { return false }
        guard let intervalEnd = interval.end else { return true }
        if end == [0] { return false }
        return !intervalEnd.lexicographicallyPrecedes(end)
    }

    /// The last interval starting at or before `key`.
    private func containing(_ key: [UInt8]) -> Interval? {
        var low = 0
        var high = intervals.count
        while low < high {
            let middle = (low + high) / 2
            if key.lexicographicallyPrecedes(intervals[middle].start) { high = middle } else { low = middle + 1 }
        }
        return low == 0 ? nil : intervals[low - 1]
    }

    /// Whether `end` (nil: unbounded) lies strictly before `key`, i.e. `[_, end)` and a
    /// range starting at `key` neither overlap nor touch.
    private static func before(_ end: [UInt8]?, _ key: [UInt8]) -> Bool {
        guard let end else { return false }
        return end.lexicographicallyPrecedes(key)
    }

    private static func interval(start: [UInt8], end: [UInt8]) -> Interval? {
        if end.isEmpty { return Interval(start: start, end: start + [0]) }
        if end == [0] { return Interval(start: start, end: nil) }
        guard start.lexicographicallyPrecedes(end) else { return nil }
        return Interval(start: start, end: end)
    }
}
