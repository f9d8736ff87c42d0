/// Why parts of the member ask it to stop from the inside. The member's lifecycle task
/// hears these and stops it; the parts asking need no reference to the member.
enum StopReason: Sendable {
    /// This member was removed from the cluster: it lingers a moment (so the removal reaches
    /// the others first, as etcd does), then stops.
    case removed(linger: Duration)
    /// A listener failed: the member cannot go on and stops as failed.
    case failed
}

/// A one-way channel of stop requests, created before the parts that send them.
final class StopRequests: Sendable {
    let reasons: AsyncStream<StopReason>
    private let continuation: AsyncStream<StopReason>.Continuation

    init() {
        (reasons, continuation) = AsyncStream.makeStream(of: StopReason.self, bufferingPolicy: .bufferingOldest(8))
    }

    func request(_ reason: StopReason) {
        continuation.yield(reason)
    }
}
