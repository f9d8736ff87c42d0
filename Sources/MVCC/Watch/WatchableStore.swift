import Foundation
import Synchronization
import Timing

/// Delivers the store's changes to watchers (etcd's watchable store).
///
/// Watchers that are caught up ("synced") get each revision's events as it is committed,
/// from the apply loop, without blocking it. Watchers that start in the past or fell behind
/// ("unsynced") are caught up from the backend by a background thread and then join the
/// synced group with no gap and no duplicate. A watcher whose stream is full becomes a
/// "victim": its missed events are kept and retried, and it catches up from there.
public final class WatchableStore: @unchecked Sendable {
    // @unchecked: every mutable property is guarded by `lock`.
    private let lock = MonotonicCondition()
    private var synced = WatcherGroup()
    private var unsynced = WatcherGroup()
    private var victims: [[ObjectIdentifier: (Watcher, EventBatch)]] = []
    /// The newest revision whose events were handed to synced watchers.
    private var notifiedRevision: Int64
    private var compactRevision: Int64
    private var stopped = false
    private var thread: Thread?
    /// Watchers of streams that went away without `close()`; removed under the lock at the
    /// sync thread's next pass (see `removeSoon`).
    private let abandoned = Mutex<[Watcher]>([])
    /// Reads the committed events of revisions `from...through` (in revision order).
    private let readEvents: @Sendable (_ from: Int64, _ through: Int64) throws -> [Event]
    /// Holds back those asking for the current revision while answered writes are uncommitted.
    private let gate: CommitGate

    /// Watchers caught up per pass of the sync thread.
    private let maxWatchersPerSync = 512
    /// Revisions read per pass, so a watcher far behind catches up in bounded steps.
    private let maxRevisionsPerSync: Int64 = 4 * Int64(EventBatch.maxRevisions)

    init(
        revision: Int64, compactRevision: Int64, gate: CommitGate,
        readEvents: @escaping @Sendable (Int64, Int64) throws -> [Event]
    ) {
        notifiedRevision = revision
        self.gate = gate
        self.compactRevision = compactRevision
        self.readEvents = readEvents
        // The thread holds the store weakly, so a store nobody closed can still go away.
        let thread = Thread { [weak self] in
            while let store = self, store.syncOnce() {}
        }
        thread.name = "swetcd-watch-sync"
        self.thread = thread
        thread.start()
    }

    /// The newest revision watchers have been told about.
    public var revision: Int64 {
        gate.waitForAnsweredWrites()
        lock.lock()
        defer { lock.unlock() }
        return notifiedRevision
    }

    /// Number of watchers (synced, unsynced and victims).
    public var watcherCount: Int {
        lock.lock()
        defer { lock.unlock() }
        removeAbandonedLocked()
        return synced.count + unsynced.count + victims.reduce(0) { $0 + $1.count }
    }

    /// Stops the sync thread.
    func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        lock.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }

    deinit {
        stopped = true
    }

    /// Runs `body` under the store lock with the current revision (no notification happens
    /// meanwhile).
    func withLock<T>(_ body: (Int64) -> T) -> T {
        gate.waitForAnsweredWrites()
        lock.lock()
        defer { lock.unlock() }
        return body(notifiedRevision)
    }

    /// Registers a watcher; the caller holds the lock (see `withLock`).
    func addLocked(id: Int64, range: KeyRange, startRevision: Int64, filters: WatchFilters, stream: WatchStream) -> Watcher {
        let isSynced = startRevision > notifiedRevision || startRevision == 0
        let minRevision = isSynced ? max(notifiedRevision + 1, startRevision) : startRevision
        let watcher = Watcher(id: id, range: range, minRevision: minRevision, filters: filters, stream: stream)
        if isSynced {
            synced.add(watcher)
        } else {
            unsynced.add(watcher)
            lock.signal()
        }
        return watcher
    }

    func remove(_ watcher: Watcher) {
        lock.lock()
        defer { lock.unlock() }
        removeLocked(watcher)
    }

    /// Forgets `watchers` soon, without taking the lock: for a stream's deinit, which may
    /// run on a thread that holds it.
    func removeSoon(_ watchers: [Watcher]) {
        guard !watchers.isEmpty else { return }
        abandoned.withLock { $0.append(contentsOf: watchers) }
    }

    private func removeAbandonedLocked() {
        let gone = abandoned.withLock { list -> [Watcher] in
            defer { list.removeAll() }
            return list
        }
        for watcher in gone { removeLocked(watcher) }
    }

    private func removeLocked(_ watcher: Watcher) {
        watcher.isCancelled = true
        if synced.remove(watcher) || unsynced.remove(watcher) { return }
        for index in victims.indices {
            if victims[index].removeValue(forKey: ObjectIdentifier(watcher)) != nil { return }
        }
    }

    /// A progress notification for a caught-up watcher.
    func progress(_ watcher: Watcher) {
        lock.lock()
        defer { lock.unlock() }
        if synced.contains(watcher) {
            _ = watcher.send(WatchResponse(watchID: watcher.id, revision: notifiedRevision))
        }
    }

    /// Hands each committed revision's events to the synced watchers, in revision order.
    /// Called by the apply loop after the backend commit; never blocks on a client.
    func notify(_ revisions: [(revision: Int64, events: [Event])]) {
        lock.lock()
        defer { lock.unlock() }
        for (revision, events) in revisions {
            var newVictims: [ObjectIdentifier: (Watcher, EventBatch)] = [:]
            for (id, (watcher, batch)) in synced.batches(for: events) {
                if !watcher.send(WatchResponse(watchID: watcher.id, events: batch.events, revision: revision)) {
                    watcher.minRevision = revision + 1
                    watcher.isVictim = true
                    synced.remove(watcher)
                    newVictims[id] = (watcher, batch)
                }
            }
            notifiedRevision = revision
            if !newVictims.isEmpty {
                victims.append(newVictims)
                lock.signal()
            }
        }
    }

    /// The store's history was replaced (a snapshot): every watcher catches up from the new
    /// history, as if it had fallen behind.
    func restore(revision: Int64, compactRevision: Int64) {
        lock.lock()
        defer { lock.unlock() }
        for watcher in synced.watchers.values {
            synced.remove(watcher)
            unsynced.add(watcher)
        }
        notifiedRevision = revision
        self.compactRevision = compactRevision
        lock.signal()
    }

    /// Records a compaction: watchers needing older revisions will be told and cancelled.
    func compacted(at revision: Int64) {
        lock.lock()
        compactRevision = revision
        lock.unlock()
    }

    // MARK: Catching up

    /// One pass of the sync thread: waits a little (less when victims wait), retries the
    /// victims, catches up unsynced watchers. False once the store is stopped.
    private func syncOnce() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return false }
        lock.wait(until: .now + (victims.isEmpty ? .milliseconds(100) : .milliseconds(10)))
        guard !stopped else { return false }
        removeAbandonedLocked()
        moveVictimsLocked()
        if !unsynced.isEmpty { syncWatchersLocked() }
        return true
    }

    /// Retries the victims' missed events; those delivered rejoin a group.
    private func moveVictimsLocked() {
        let batches = victims
        victims = []
        var stillBlocked: [ObjectIdentifier: (Watcher, EventBatch)] = [:]
        for batch in batches {
            for (id, (watcher, events)) in batch where !watcher.isCancelled {
                let response = WatchResponse(watchID: watcher.id, events: events.events, revision: watcher.minRevision - 1)
                guard watcher.send(response) else {
                    stillBlocked[id] = (watcher, events)
                    continue
                }
                watcher.isVictim = false
                if events.moreRevision != 0 { watcher.minRevision = events.moreRevision }
                if watcher.minRevision <= notifiedRevision {
                    unsynced.add(watcher)
                } else {
                    synced.add(watcher)
                }
            }
        }
        if !stillBlocked.isEmpty { victims.append(stillBlocked) }
    }

    /// Catches up to `maxWatchersPerSync` unsynced watchers from the backend. The big read
    /// happens without the lock, so the apply loop keeps notifying meanwhile; what it
    /// notified during the read is then read again, briefly, under the lock.
    private func syncWatchersLocked() {
        var chosen: [Watcher] = []
        for watcher in unsynced.watchers.values {
            if chosen.count >= maxWatchersPerSync { break }
            if watcher.minRevision < compactRevision {
                let response = WatchResponse(watchID: watcher.id, compactRevision: compactRevision)
                if watcher.stream?.offer(.events(response)) ?? true {
                    watcher.isCompacted = true
                    unsynced.remove(watcher)
                    watcher.stream?.forget(watcher)
                }
                continue
            }
            chosen.append(watcher)
        }
        guard let lowest = chosen.map(\.minRevision).min() else { return }
        let compaction = compactRevision
        let target = notifiedRevision
        let upper = min(target, lowest + maxRevisionsPerSync)

        lock.unlock()
        let read = Result { try readEvents(lowest, upper) }
        lock.lock()

        guard case .success(var events) = read, compactRevision == compaction, !stopped else { return }
        var caughtUpTo = upper
        if upper == target && notifiedRevision > target {
            // Only what was committed during the read is missing: read that now, under the lock.
            guard let delta = try? readEvents(target + 1, notifiedRevision) else { return }
            events.append(contentsOf: delta)
            caughtUpTo = notifiedRevision
        }

        var group = WatcherGroup()
        for watcher in chosen where !watcher.isCancelled && unsynced.contains(watcher) { group.add(watcher) }
        let batches = group.batches(for: events)
        for watcher in group.watchers.values {
            watcher.minRevision = caughtUpTo + 1
            guard let (_, batch) = batches[ObjectIdentifier(watcher)] else {
                if caughtUpTo == notifiedRevision {
                    unsynced.remove(watcher)
                    synced.add(watcher)
                }
                continue
            }
            if batch.moreRevision != 0 { watcher.minRevision = batch.moreRevision }
            if watcher.send(WatchResponse(watchID: watcher.id, events: batch.events, revision: caughtUpTo)) {
                if batch.moreRevision == 0 && caughtUpTo == notifiedRevision {
                    unsynced.remove(watcher)
                    synced.add(watcher)
                }
            } else {
                watcher.isVictim = true
                unsynced.remove(watcher)
                victims.append([ObjectIdentifier(watcher): (watcher, batch)])
            }
        }
    }
}
