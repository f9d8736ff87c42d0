import Raft
import Synchronization

/// The messages waiting for one peer. Senders never block: past `capacity` messages new
/// ones are dropped (Raft retransmits what is lost). The peer's sender takes everything
/// waiting at once and sends it as one batch.
final class MessageQueue: Sendable {
    private struct State {
        var messages: [Message] = []
        var waiter: CheckedContinuation<[Message]?, Never>?
        var closed = false
        var dropped = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// Adds messages; returns how many had to be dropped.
    @discardableResult
    func append(_ messages: [Message]) -> Int {
        let (waiter, batch, dropped) = state.withLock { state -> (CheckedContinuation<[Message]?, Never>?, [Message], Int) in
            guard !state.closed else { return (nil, [], messages.count) }
            let room = max(0, capacity - state.messages.count)
            let accepted = messages.prefix(room)
            let dropped = messages.count - accepted.count
            state.dropped += dropped
            if let waiter = state.waiter, !accepted.isEmpty {
                state.waiter = nil
                return (waiter, Array(accepted), dropped)
            }
            state.messages.append(contentsOf: accepted)
            return (nil, [], dropped)
        }
        waiter?.resume(returning: batch)
        return dropped
    }

    /// Everything waiting, waiting for at least one message; nil once closed.
    func takeAll() async -> [Message]? {
        await withCheckedContinuation { continuation in
            let ready: [Message]?? = state.withLock { state in
                if !state.messages.isEmpty {
                    defer { state.messages.removeAll(keepingCapacity: true) }
                    return .some(state.messages)
                }
                if state.closed { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Drops what is waiting (the connection failed; Raft will resend).
    func clear() {
        state.withLock { $0.messages.removeAll() }
    }

    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<[Message]?, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}
