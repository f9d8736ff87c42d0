/// One watch: a key range, the next revision it needs, and the stream it delivers to.
/// All mutable state is guarded by the watchable store's lock.
final class Watcher: @unchecked Sendable {
    // @unchecked: every var is read and written only under WatchableStore.lock.
    let id: Int64
    let range: KeyRange
    let filters: WatchFilters
    /// The stream it delivers to; a stream that is gone takes no more events.
    weak var stream: WatchStream?
    /// The oldest revision this watcher has not been sent yet.
    var minRevision: Int64
    /// Its stream was full: it waits in the victims list with the events it missed.
    var isVictim = false
    /// It was cancelled because its revisions are compacted.
    var isCompacted = false
    /// It was removed from the store (cancelled); nothing more may be sent.
    var isCancelled = false

    init(id: Int64, range: KeyRange, minRevision: Int64, filters: WatchFilters, stream: WatchStream) {
        self.id = id
        self.range = range
        self.minRevision = minRevision
        self.filters = filters
        self.stream = stream
    }

    /// Offers a response to the stream without blocking; false when the stream is full.
    /// A response whose events are all filtered out is not sent (and counts as delivered),
    /// except an empty one, which is a progress notification.
    func send(_ response: WatchResponse) -> Bool {
        var response = response
        let isProgress = response.events.isEmpty
        if !filters.isEmpty {
            response.events.removeAll { !filters.admits($0) }
        }
        if !isProgress && response.events.isEmpty { return true }
        return stream?.offer(.events(response)) ?? true
    }
}

/// Events for one watcher, at most `maxRevisions` revisions of them; `moreRevision` is the
/// first revision left out (the watcher catches up on it later).
struct EventBatch {
    static let maxRevisions = 1000

    var events: [Event] = []
    var revisions = 0
    var moreRevision: Int64 = 0

    mutating func add(_ event: Event) {
        guard revisions <= Self.maxRevisions else { return }
        if let last = events.last {
            if event.kv.modRevision > last.kv.modRevision {
                revisions += 1
                if revisions > Self.maxRevisions {
                    moreRevision = event.kv.modRevision
                    return
                }
            }
        } else {
            revisions = 1
        }
        events.append(event)
    }
}
