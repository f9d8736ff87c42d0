import EtcdProto
import Foundation
import MVCC

/// One client's watch stream on this member, in etcd's terms: keys and ranges as a watch
/// request gives them, events as `Mvccpb_Event`s. The store's own watch machinery stays
/// behind it.
public final class MemberWatchStream: Sendable {
    /// What the stream delivers, in order.
    public enum Output: Sendable {
        /// A watch was created as of store revision `revision`.
        case created(watchID: Int64, revision: Int64)
        /// A watch could not be created.
        case rejected(reason: String, revision: Int64)
        /// A watch was cancelled by the client.
        case cancelled(watchID: Int64, revision: Int64)
        /// The client asked where the stream stands (sent to all watches).
        case progress(revision: Int64)
        /// Events for one watch, a per-watch progress notification (no events), or the
        /// compaction that ended the watch (`compactRevision` set).
        case events(watchID: Int64, events: [Mvccpb_Event], revision: Int64, compactRevision: Int64)
    }

    private let stream: WatchStream

    init(store: WatchableStore) {
        stream = WatchStream(store: store)
    }

    /// Starts watching `key` (to `rangeEnd`, etcd's conventions: an empty key means "\0")
    /// from `startRevision` (0: from now) under `id`, or an ID the stream picks when nil.
    /// Returns the watch's ID, or nil when it was rejected (the rejection is delivered).
    @discardableResult
    public func watch(
        id: Int64?, key: Data, rangeEnd: Data, startRevision: Int64, skipPuts: Bool = false, skipDeletes: Bool = false
    ) -> Int64? {
        var filters: WatchFilters = []
        if skipPuts { filters.insert(.noPut) }
        if skipDeletes { filters.insert(.noDelete) }
        let range = KeyRange(key: key.isEmpty ? [0] : [UInt8](key), rangeEnd: [UInt8](rangeEnd))
        return stream.watch(id: id, range: range, startRevision: startRevision, filters: filters)
    }

    /// Refuses a watch without starting it; the client gets a created-and-cancelled
    /// response with `reason`.
    public func reject(reason: String) { stream.reject(reason: reason) }

    /// An ID for a watch created without one (etcd's automatic IDs).
    public func takeAutomaticID() -> Int64 { stream.takeAutomaticID() }

    /// Whether a watch with this ID exists on the stream.
    public func hasWatch(_ id: Int64) -> Bool { stream.hasWatch(id) }

    /// Cancels a watch; false when there was none with this ID.
    public func cancel(id: Int64) -> Bool { stream.cancel(id: id) }

    /// Asks for a progress notification for one watch.
    public func requestProgress(watchID: Int64) { stream.requestProgress(watchID: watchID) }

    /// Asks for a progress notification of the whole stream.
    public func requestProgress() { stream.requestProgress() }

    /// The next output; nil once the stream is closed.
    public func next() async -> Output? {
        await stream.next().map(Self.output)
    }

    /// Every output ready now (waiting for one); nil once the stream is closed.
    public func nextBatch() async -> [Output]? {
        await stream.nextBatch()?.map(Self.output)
    }

    /// Ends the stream and its watches.
    public func close() { stream.close() }

    private static func output(_ output: WatchStream.Output) -> Output {
        switch output {
        case .created(let id, let revision): return .created(watchID: id, revision: revision)
        case .rejected(let reason, let revision): return .rejected(reason: reason, revision: revision)
        case .cancelled(let id, let revision): return .cancelled(watchID: id, revision: revision)
        case .progress(let revision): return .progress(revision: revision)
        case .events(let response):
            return .events(
                watchID: response.watchID, events: response.events.map(Mvccpb_Event.init), revision: response.revision,
                compactRevision: response.compactRevision)
        }
    }
}
