import Foundation
import Synchronization

/// Lets the apply loop answer a batch's writers before the backend commits the batch (the
/// WAL already holds it, as in etcd), without letting anyone observe the store as it was
/// before an answered write: while answers are out ahead of their commit, readers wait for
/// that commit.
///
/// The window is one backend commit long (tens of microseconds) and opens only when a batch
/// had writers waiting, so readers almost never wait. The thread that commits never waits
/// for itself: what it reads in the window is its own, complete, write transaction.
public final class CommitGate: Sendable {
    private let open = Atomic<Bool>(false)
    private let condition = NSCondition()
    /// The thread inside the window, which must not wait for its own commit.
    private let committer = Mutex<pthread_t?>(nil)

    init() {}

    /// Opens the window: answers may go out ahead of the next commit. Apply thread only.
    func openBeforeAnswering() {
        committer.withLock { $0 = pthread_self() }
        open.store(true, ordering: .sequentiallyConsistent)
    }

    /// Closes the window once the commit is visible to readers, and wakes those waiting.
    func closeAfterCommit() {
        guard open.load(ordering: .relaxed) else { return }
        condition.lock()
        open.store(false, ordering: .sequentiallyConsistent)
        condition.broadcast()
        condition.unlock()
    }

    /// Returns once no write answered so far is missing from what readers see.
    public func waitForAnsweredWrites() {
        guard open.load(ordering: .sequentiallyConsistent) else { return }
        if let committer = committer.withLock({ $0 }), pthread_equal(committer, pthread_self()) != 0 { return }
        condition.lock()
        while open.load(ordering: .sequentiallyConsistent) { condition.wait() }
        condition.unlock()
    }
}
