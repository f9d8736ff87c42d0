import Synchronization

/// A linearizable read waiting for its read index to be confirmed and applied. Finished
/// exactly once: by the Raft loop when the member caught up, or by a timeout — whichever
/// comes first, even before anyone started waiting.
final class ReadRequest: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<Void, any Error>)
        case done(EtcdError?)
    }

    private let state = Mutex(State.pending)
    let deadline: ContinuousClock.Instant

    init(deadline: ContinuousClock.Instant) {
        self.deadline = deadline
    }

    /// Waits until the read may run.
    func wait() async throws(EtcdError) {
        do {
            try await withCheckedThrowingContinuation { continuation in
                let outcome: EtcdError?? = state.withLock { state in
                    switch state {
                    case .pending:
                        state = .waiting(continuation)
                        return .none
                    case .done(let error):
                        return .some(error)
                    case .waiting:
                        preconditionFailure("a read request is waited for once")
                    }
                }
                if let outcome {
                    if let error = outcome { continuation.resume(throwing: error) } else { continuation.resume() }
                }
            }
        } catch {
            throw EtcdError.wrapping(error)
        }
    }

    /// Finishes the read (later calls do nothing).
    func finish(_ error: EtcdError? = nil) {
        let waiting: CheckedContinuation<Void, any Error>? = state.withLock { state in
            switch state {
            case .pending:
                state = .done(error)
                return nil
            case .waiting(let continuation):
                state = .done(error)
                return continuation
            case .done:
                return nil
            }
        }
        guard let waiting else { return }
        if let error { waiting.resume(throwing: error) } else { waiting.resume() }
    }

    var isDone: Bool {
        state.withLock { if case .done = $0 { return true } else { return false } }
    }
}
