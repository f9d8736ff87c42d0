/// The answer to a `readIndex` request: once the application has applied up to `index`, a read
/// of its state machine is linearizable with respect to the moment the request was made.
public struct ReadState: Sendable, Hashable {
    /// The commit index at the time the request was received by the leader.
    public var index: UInt64
    /// The context given to `readIndex`, identifying the request.
    public var requestContext: [UInt8]

    /// A read state.
    public init(index: UInt64, requestContext: [UInt8]) {
        self.index = index
        self.requestContext = requestContext
    }
}

/// The leader's queue of ReadIndex requests waiting for a quorum to confirm its leadership.
/// Requests are confirmed in order: an acknowledgement of a later request's heartbeat also
/// confirms every earlier one, which is what lets one heartbeat round serve a whole batch.
struct ReadOnly {
    final class Pending {
        let request: Message
        let index: UInt64
        var acks: Set<UInt64> = []

        init(request: Message, index: UInt64) {
            self.request = request
            self.index = index
        }
    }

    let option: ReadOnlyOption
    /// Pending requests by context (only looked up, never iterated).
    private var byContext: [[UInt8]: Pending] = [:]
    /// Contexts in arrival order.
    private var queue: [[UInt8]] = []

    init(option: ReadOnlyOption) {
        self.option = option
    }

    var isEmpty: Bool { queue.isEmpty }

    /// Queues a request received when the commit index was `index`; a duplicate context is ignored.
    mutating func add(index: UInt64, request: Message) {
        let ctx = request.entries[0].data
        if byContext[ctx] != nil { return }
        byContext[ctx] = Pending(request: request, index: index)
        queue.append(ctx)
    }

    /// Records that `id` acknowledged the heartbeat carrying `context`; returns the acks so far,
    /// or nil if the context is unknown.
    func recordAck(from id: UInt64, context: [UInt8]) -> Set<UInt64>? {
        guard let p = byContext[context] else { return nil }
        p.acks.insert(id)
        return p.acks
    }

    /// Removes and returns every request up to and including the one with `context`, oldest
    /// first; empty if the context is unknown.
    mutating func release(through context: [UInt8]) -> [Pending] {
        guard let last = queue.firstIndex(of: context) else { return [] }
        var out: [Pending] = []
        out.reserveCapacity(last + 1)
        for ctx in queue[...last] {
            if let p = byContext.removeValue(forKey: ctx) { out.append(p) }
        }
        queue.removeFirst(last + 1)
        return out
    }

    /// The context of the newest pending request (sent with heartbeats), if any.
    var lastPendingContext: [UInt8]? { queue.last }
}
