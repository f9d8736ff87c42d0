/// The flow-control window of one follower: the last index of every append message sent to it
/// and not yet acknowledged, oldest first, in a ring buffer of at most `capacity` slots.
public struct Inflights: Sendable, Hashable {
    /// Maximum number of messages in flight.
    public let capacity: Int
    private var start = 0
    /// Number of messages in flight.
    public private(set) var count = 0
    private var buffer: [UInt64] = []

    /// An empty window of `capacity` slots (the buffer grows lazily).
    public init(capacity: Int) {
        precondition(capacity > 0, "inflight capacity must be positive")
        self.capacity = capacity
    }

    /// True when no further message may be sent.
    public var isFull: Bool { count == capacity }

    /// Records a message whose last entry is `index`; indexes must be added in increasing order.
    mutating func add(_ index: UInt64) {
        precondition(!isFull, "cannot add to a full inflights window")
        var next = start + count
        if next >= capacity { next -= capacity }
        if next >= buffer.count { grow() }
        buffer[next] = index
        count += 1
    }

    private mutating func grow() {
        var newSize = buffer.count * 2
        if newSize == 0 { newSize = 1 } else if newSize > capacity { newSize = capacity }
        // Unroll the ring so the live window starts at 0.
        var grown = [UInt64](repeating: 0, count: newSize)
        for i in 0..<count {
            var j = start + i
            if j >= buffer.count { j -= buffer.count }
            grown[i] = buffer[j]
        }
        buffer = grown
        start = 0
    }

    /// Frees every message whose last index is at most `index` (they were acknowledged).
    mutating func freeLE(_ index: UInt64) {
        if count == 0 || index < buffer[start] { return }
        var idx = start
        var freed = 0
        while freed < count {
            if index < buffer[idx] { break }
            idx += 1
            if idx >= capacity || idx >= buffer.count { idx = 0 }
            freed += 1
        }
        count -= freed
        start = count == 0 ? 0 : idx
    }

    /// Frees the oldest message, making room for one more.
    mutating func freeFirstOne() {
        if count > 0 { freeLE(buffer[start]) }
    }

    /// Empties the window.
    mutating func reset() {
        count = 0
        start = 0
    }
}
