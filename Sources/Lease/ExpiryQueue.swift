/// Lease deadlines in a binary min-heap, earliest first (etcd's lease queue).
///
/// Entries are never updated in place: a renewal pushes the new deadline and the old entry
/// goes stale. Whoever pops an entry checks it against the lease, so a stale one, or one
/// of a revoked lease, is skipped when it comes up.
struct ExpiryQueue {
    struct Entry {
        var deadline: ContinuousClock.Instant
        var id: Int64
    }

    private var heap: [Entry] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The earliest deadline queued.
    var earliest: ContinuousClock.Instant? { heap.first?.deadline }

    mutating func push(_ id: Int64, at deadline: ContinuousClock.Instant) {
        heap.append(Entry(deadline: deadline, id: id))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if its deadline is at or before `now`.
    mutating func popDue(at now: ContinuousClock.Instant) -> Entry? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    mutating func removeAll() { heap.removeAll() }
}
