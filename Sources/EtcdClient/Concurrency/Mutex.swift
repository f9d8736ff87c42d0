import Foundation
import Synchronization

/// A distributed lock over a key prefix, held by a ``Session`` (etcd's clientv3
/// `concurrency.Mutex` recipe).
///
/// Each contender writes the key `prefix/<lease in hex>` with its session's lease; the lock
/// belongs to the oldest key (lowest create revision), and each contender waits for the deletion
/// of the key just older than its own. The create revision of the holder's key increases with
/// every acquisition: it is the **fencing revision**. Pass it along with writes to shared
/// resources (or compare it in a transaction, see ``isOwner``) so that a holder that lost the
/// lock without knowing cannot do damage.
///
/// ```swift
/// let session = try await Session(client: client, ttl: 10)
/// let mutex = Mutex(session: session, prefix: "locks/backup")
/// try await mutex.lock()
/// print("holding the lock, fencing revision", mutex.fencingRevision)
/// try await client.kv.txn(if: [mutex.isOwner], then: [.put("backup/owner", "me")])
/// try await mutex.unlock()
/// ```
///
/// If your code also imports `Synchronization`, write ``EtcdMutex`` instead of `Mutex`.
public final class Mutex: Sendable {
    public let session: Session
    /// The prefix the contenders' keys go under (ends with `/`).
    public let prefix: EtcdBytes
    private let state = Synchronization.Mutex(State())

    private struct State {
        var key: EtcdBytes?
        var revision: Int64 = -1
        var header: ResponseHeader?
    }

    public init(session: Session, prefix: String) {
        self.session = session
        self.prefix = EtcdBytes(prefix + "/")
    }

    private var client: EtcdClient { session.client }

    /// This session's key under the prefix.
    public var myKey: EtcdBytes { prefix + EtcdBytes(String(UInt64(bitPattern: session.lease.rawValue), radix: 16)) }

    /// The key this holder holds (or waits with), if any.
    public var key: EtcdBytes? { state.withLock { $0.key } }
    /// The create revision of the holder's key: unique and increasing for each acquisition.
    /// -1 when not held.
    public var fencingRevision: Int64 { state.withLock { $0.revision } }
    /// The header of the response that granted the lock.
    public var header: ResponseHeader? { state.withLock { $0.header } }

    /// A transaction condition that holds while this holder owns the lock.
    public var isOwner: Compare {
        let (key, revision) = state.withLock { ($0.key ?? myKey, $0.revision) }
        return .createRevision(.key(key), .equal, revision)
    }

    /// Waits until the lock is held. Cancelling the waiting task gives up (and removes the
    /// waiting key). Throws ``EtcdError/Kind/sessionExpired`` if the session's lease ended
    /// meanwhile.
    public func lock() async throws {
        let (revision, owner, response) = try await enqueue()
        if owner == nil || owner == revision {
            state.withLock { $0.header = response.header }
            return
        }
        do {
            _ = try await waitForDeletions(client: client, prefix: prefix, maxCreateRevision: revision - 1)
            // The wait can outlast the session: make sure our key is still the one we made.
            let check = try await client.kv.get(.key(myKey))
            guard let mine = check.raw.kvs.first, mine.createRevision == revision else {
                state.withLock { $0 = State() }
                throw EtcdError(.sessionExpired)
            }
            state.withLock { $0.header = check.header }
        } catch {
            let cleanup = Task { try? await self.unlock() }
            await cleanup.value
            throw error
        }
    }

    /// Takes the lock if it is free; throws ``EtcdError/Kind/locked`` (leaving no key behind)
    /// if another session holds it.
    public func tryLock() async throws {
        let (revision, owner, response) = try await enqueue()
        if owner == nil || owner == revision {
            state.withLock { $0.header = response.header }
            return
        }
        _ = try? await client.kv.txn(if: [isOwner], then: [.delete(.key(myKey))])
        state.withLock { $0 = State() }
        throw EtcdError(.locked)
    }

    /// Releases the lock (deletes the key).
    public func unlock() async throws {
        guard let key = state.withLock({ $0.key }) else { return }
        try await client.kv.delete(.key(key))
        state.withLock { $0 = State() }
    }

    /// Runs `body` while holding the lock; unlocks afterwards, whatever happens.
    public func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await lock()
        do {
            let result = try await body()
            try await unlock()
            return result
        } catch {
            try? await unlock()
            throw error
        }
    }

    /// Writes (or finds) this session's key; returns its create revision, the owner's create
    /// revision (nil if nobody holds it) and the transaction's response.
    private func enqueue() async throws -> (Int64, Int64?, TxnResponse) {
        let key = myKey
        let response = try await client.kv.txn(
            if: [.createRevision(.key(key), .equal, 0)],
            then: [.put(key, .empty, PutOptions(lease: session.lease)), .get(.prefix(prefix), .firstCreated)],
            else: [.get(.key(key)), .get(.prefix(prefix), .firstCreated)])
        var revision = response.header.revision
        let results = response.raw.responses
        if !response.succeeded, let existing = results.first?.responseRange.kvs.first {
            revision = existing.createRevision
        }
        let owner = results.count > 1 ? results[1].responseRange.kvs.first?.createRevision : nil
        state.withLock { state in
            state.key = key
            state.revision = revision
        }
        return (revision, owner, response)
    }
}

/// ``Mutex`` under a name that does not clash with `Synchronization.Mutex`.
public typealias EtcdMutex = Mutex

/// Waits until no key under `prefix` with a create revision up to `maxCreateRevision` is left:
/// repeatedly finds the newest such key and waits for its deletion.
func waitForDeletions(client: EtcdClient, prefix: EtcdBytes, maxCreateRevision: Int64) async throws -> ResponseHeader {
    while true {
        var options = GetOptions.lastCreated
        options.maxCreateRevision = maxCreateRevision
        let response = try await client.kv.get(.prefix(prefix), options: options)
        guard let newest = response.raw.kvs.first else { return response.header }
        try await waitForDeletion(client: client, key: EtcdBytes(newest.key), from: response.header.revision)
    }
}

/// Waits for a delete event of `key` at or after revision `from`.
func waitForDeletion(client: EtcdClient, key: EtcdBytes, from revision: Int64) async throws {
    for try await response in client.watch.watch(.key(key), options: WatchOptions(startRevision: revision)) {
        if response.raw.events.contains(where: { $0.type == .delete }) { return }
    }
    try Task.checkCancellation()
    throw EtcdError(kind: .other, code: .unknown, message: "lost watcher waiting for delete")
}
