import Synchronization

/// A linearizable read waiting for its read index to be confirmed and applied. Finished
/// exactly once: by the Raft loop when the member caught up, or by a timeout — whichever
/// comes first, even before anyone started waiting.
final class ReadRequest: Sendable {
    private enum State {
        case pending
        case waiting(@Sendable (EtcdError?) -> Void)
        case done(EtcdError?)
    }

    private let state = Mutex(State.pending)
    let deadline: ContinuousClock.Instant

    init(deadline: ContinuousClock.Instant) {
        self.deadline = deadline
    }

    /// Calls `completion` once the read may run (`nil`) or has failed, on the thread that
    /// finishes the request (or at once if it already is).
    func onFinish(_ completion: @escaping @Sendable (EtcdError?) -> Void) {
        let outcome: EtcdError?? = state.withLock { state in
            switch state {
            case .pending:
                state = .waiting(completion)
                return .none
            case .done(let error):
                return .some(error)
            case .waiting:
                preconditionFailure("a read request is waited for once")
            }
        }
        if let outcome { completion(outcome) }
    }

    /// Waits until the read may run.
    func wait() async throws(EtcdError) {
        let error = await withCheckedContinuation { continuation in
            onFinish { continuation.resume(returning: $0) }
        }
        if let error { throw error }
    }

    /// Finishes the read (later calls do nothing).
    func finish(_ error: EtcdError? = nil) {
        let waiting: (@Sendable (EtcdError?) -> Void)? = state.withLock { state in
            switch state {
            case .pending:
                state = .done(error)
                return nil
            case .waiting(let completion):
                state = .done(error)
                return completion
            case .done:
                return nil
            }
        }
        waiting?(error)
    }

    var isDone: Bool {
        state.withLock { if case .done = $0 { return true } else { return false } }
    }
}
