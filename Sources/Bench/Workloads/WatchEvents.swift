import EtcdProto
import Synchronization

/// When a put was sent and acknowledged (monotonic nanoseconds).
struct AckTimes: Sendable {
    var sent: UInt64
    var acked: UInt64
}

/// Events one watch stream received, with their receipt times; written by the stream's
/// response loop, read once the stream is over.
final class EventInbox: Sendable {
    struct Received {
        var revision: Int64
        var receivedAt: UInt64
    }

    private let state = Mutex<(events: [Received], failure: String?)>(([], nil))

    func reserve(_ count: Int) { state.withLock { $0.events.reserveCapacity(count) } }

    func record(_ events: [Mvccpb_Event], at time: UInt64) {
        state.withLock { state in
            for event in events { state.events.append(Received(revision: event.kv.modRevision, receivedAt: time)) }
        }
    }

    func fail(_ error: any Error) {
        if error is CancellationError { return }
        state.withLock { $0.failure = $0.failure ?? String(describing: error) }
    }

    func contents() -> (events: [Received], failure: String?) { state.withLock { ($0.events, $0.failure) } }
}
