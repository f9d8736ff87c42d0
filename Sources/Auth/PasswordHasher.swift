import Dispatch
import Synchronization

/// Runs bcrypt work (hashing new passwords, checking Authenticate's) one job at a time on a
/// queue of its own, so a flood of Authenticate calls costs at most one core and never the
/// threads that serve other requests. Past `maxWaiting` queued jobs, new ones are refused
/// with etcd's `too many requests`.
public final class PasswordHasher: Sendable {
    private let queue: DispatchQueue
    private let waiting = Atomic(0)
    private let maxWaiting: Int
    /// The cost new hashes are made with (`--bcrypt-cost`).
    public let cost: Int

    public convenience init(cost: Int, maxWaiting: Int = 256) {
        self.init(cost: cost, maxWaiting: maxWaiting, queue: DispatchQueue(label: "swetcd-bcrypt", qos: .utility))
    }

    /// A hasher on `queue`, which must be serial (tests hand in one they suspend).
    init(cost: Int, maxWaiting: Int, queue: DispatchQueue) {
        self.cost = cost
        self.maxWaiting = maxWaiting
        self.queue = queue
    }

    /// A new hash of `password`.
    public func hash(_ password: [UInt8]) async throws(AuthError) -> String {
        let cost = cost
        return try await run { () throws(AuthError) in try Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`.
    public func verify(_ password: [UInt8], hash: String) async throws(AuthError) -> Bool {
        try await run { () throws(AuthError) in Bcrypt.verify(password, hash: hash) }
    }

    private func run<T: Sendable>(_ job: @escaping @Sendable () throws(AuthError) -> T) async throws(AuthError) -> T {
        guard waiting.add(1, ordering: .relaxed).newValue <= maxWaiting else {
            waiting.subtract(1, ordering: .relaxed)
            throw AuthError(.tooManyRequests)
        }
        let result: Result<T, AuthError> = await withCheckedContinuation { continuation in
            queue.async { [self] in
                waiting.subtract(1, ordering: .relaxed)
                continuation.resume(returning: Result { () throws(AuthError) in try job() })
            }
        }
        return try result.get()
    }
}
