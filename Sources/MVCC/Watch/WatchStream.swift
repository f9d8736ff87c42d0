import Synchronization

/// The watches of one client stream and the ordered queue of what they deliver.
///
/// Watchers offer event responses without blocking; when `capacity` event responses are
/// waiting, offers fail and the watcher is parked as a victim to catch up later, so a slow
/// client never slows writes or other streams. Control messages (created, cancelled,
/// progress) are always queued, in order with the events.
public final class WatchStream: Sendable {
    /// What the stream delivers, in order.
    public enum Output: Sendable {
        /// A watch was created (`watchID`) as of store revision `revision`.
        case created(watchID: Int64, revision: Int64)
        /// A watch could not be created.
        case rejected(reason: String, revision: Int64)
        /// A watch was cancelled by the client.
        case cancelled(watchID: Int64, revision: Int64)
        /// The client asked where the stream stands (sent to all watches).
        case progress(revision: Int64)
        /// Events for one watch, a per-watch progress notification (no events), or the
        /// compaction that ended the watch (`compactRevision` set).
        case events(WatchResponse)
    }

    private struct State {
        var queue = FIFO<Output>()
        var queuedEvents = 0
        var waiter: CheckedContinuation<Output?, Never>?
        var closed = false
        var watchers: [Int64: Watcher] = [:]
        var nextID: Int64 = 0
    }

    let store: WatchableStore
    private let capacity: Int
    private let state = Mutex(State())

    /// A stream on `store`; at most `capacity` event responses wait for the client.
    public init(store: WatchableStore, capacity: Int = 1024) {
        self.store = store
        self.capacity = capacity
    }

    deinit {
        // The last reference may be dropped by a thread that holds the store's lock (the
        // store delivering to this stream as its owner lets go), so the store is only told
        // to forget the watchers, without taking that lock here.
        let watchers = state.withLock { state -> [Watcher] in
            state.closed = true
            defer { state.watchers.removeAll() }
            return Array(state.watchers.values)
        }
        store.removeSoon(watchers)
    }

    /// Refuses a watch the stream was asked for without starting it (the member's checks,
    /// e.g. permissions), in order with everything else the stream delivers.
    public func reject(reason: String) {
        enqueue(.rejected(reason: reason, revision: store.revision))
    }

    /// Starts watching `range` from `startRevision` (0: from the next revision).
    /// `id` nil lets the stream choose; a taken `id` is refused.
    @discardableResult
    public func watch(id requested: Int64?, range: KeyRange, startRevision: Int64, filters: WatchFilters = []) -> Int64? {
        if case .interval(let start, let end?) = range, compareBytes(start, end) >= 0 {
            enqueue(.rejected(reason: WatchError.emptyRange.description, revision: store.revision))
            return nil
        }
        return store.withLock { revision in
            let id: Int64? = state.withLock { state in
                guard !state.closed else { return nil }
                guard let requested else {
                    while state.watchers[state.nextID] != nil { state.nextID += 1 }
                    defer { state.nextID += 1 }
                    return state.nextID
                }
                return state.watchers[requested] == nil ? requested : nil
            }
            guard let id else {
                enqueue(.rejected(reason: WatchError.duplicateID.description, revision: revision))
                return nil
            }
            let watcher = store.addLocked(id: id, range: range, startRevision: startRevision, filters: filters, stream: self)
            state.withLock { $0.watchers[id] = watcher }
            // Queued under the store lock, so no event for this watch can come first.
            enqueue(.created(watchID: id, revision: revision))
            return id
        }
    }

    /// Takes the next automatic watch ID (what `watch(id: nil, ...)` would use), so the caller
    /// can set up per-watch state before the watch exists.
    public func takeAutomaticID() -> Int64 {
        state.withLock { state in
            while state.watchers[state.nextID] != nil { state.nextID += 1 }
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    /// Whether the stream has a watch with this ID.
    public func hasWatch(_ id: Int64) -> Bool { state.withLock { $0.watchers[id] != nil } }

    /// Cancels a watch; false when the stream has no such watch.
    @discardableResult
    public func cancel(id: Int64) -> Bool {
        guard let watcher = state.withLock({ $0.watchers.removeValue(forKey: id) }) else { return false }
        store.remove(watcher)
        enqueue(.cancelled(watchID: id, revision: store.revision))
        return true
    }

    /// Sends a progress notification for one watch if it is caught up (etcd's
    /// progress_notify); a watch still catching up gets nothing.
    public func requestProgress(watchID: Int64) {
        guard let watcher = state.withLock({ $0.watchers[watchID] }) else { return }
        store.progress(watcher)
    }

    /// Answers a client's progress request with the current revision.
    public func requestProgress() {
        enqueue(.progress(revision: store.revision))
    }

    /// The IDs of the stream's watches.
    public var watchIDs: [Int64] { state.withLock { Array($0.watchers.keys) } }

    /// The next output, waiting for one; nil once the stream is closed and drained.
    public func next() async -> Output? {
        await withCheckedContinuation { continuation in
            let ready: Output?? = state.withLock { state in
                if let output = state.queue.popFirst() {
                    if case .events = output { state.queuedEvents -= 1 }
                    return .some(output)
                }
                if state.closed { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Everything queued (at least one output, waiting for it), so a sender can pass many
    /// responses on at once; nil once the stream is closed and drained.
    public func nextBatch() async -> [Output]? {
        guard let first = await next() else { return nil }
        return state.withLock { state in
            var batch = [first]
            while let output = state.queue.popFirst() {
                if case .events = output { state.queuedEvents -= 1 }
                batch.append(output)
            }
            return batch
        }
    }

    /// Cancels every watch and ends `next()`.
    public func close() {
        let watchers = state.withLock { state -> [Watcher] in
            state.closed = true
            defer { state.watchers.removeAll() }
            return Array(state.watchers.values)
        }
        for watcher in watchers { store.remove(watcher) }
        let waiter = state.withLock { state -> CheckedContinuation<Output?, Never>? in
            defer { state.waiter = nil }
            return state.queue.isEmpty ? state.waiter : nil
        }
        waiter?.resume(returning: nil)
    }

    /// Offers an event response; false when the client is `capacity` responses behind.
    func offer(_ output: Output) -> Bool {
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Output?, Never>?) in
            guard !state.closed else { return (true, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (true, waiter)
            }
            guard state.queuedEvents < capacity else { return (false, nil) }
            state.queue.append(output)
            state.queuedEvents += 1
            return (true, nil)
        }
        waiter?.resume(returning: output)
        return accepted
    }

    /// Queues a control message regardless of the capacity.
    func enqueue(_ output: Output) {
        let waiter = state.withLock { state -> CheckedContinuation<Output?, Never>? in
            guard !state.closed else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.queue.append(output)
            return nil
        }
        waiter?.resume(returning: output)
    }

    /// Forgets a watcher the store ended (compaction).
    func forget(_ watcher: Watcher) {
        state.withLock { state in
            if state.watchers[watcher.id] === watcher { state.watchers.removeValue(forKey: watcher.id) }
        }
    }
}

/// A first-in first-out queue with amortised O(1) operations.
struct FIFO<Element> {
    private var incoming: [Element] = []
    private var outgoing: [Element] = []

    var isEmpty: Bool { incoming.isEmpty && outgoing.isEmpty }

    mutating func append(_ element: Element) { incoming.append(element) }

    mutating func popFirst() -> Element? {
        if outgoing.isEmpty {
            guard !incoming.isEmpty else { return nil }
            outgoing = incoming.reversed()
            incoming.removeAll(keepingCapacity: true)
        }
        return outgoing.popLast()
    }
}
