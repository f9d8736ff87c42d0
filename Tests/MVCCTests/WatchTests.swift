import Foundation
import Storage
import Testing
@testable import MVCC

@Suite(.timeLimit(.minutes(1))) struct WatchTests {
    func makeStore() throws -> KVStore {
        try KVStore(backend: Backend(path: KVStoreTests.temporaryPath()))
    }

    func key(_ s: String) -> [UInt8] { Array(s.utf8) }
    func data(_ s: String) -> Data { Data(s.utf8) }

    func put(_ store: KVStore, _ pairs: (String, String)...) throws {
        let txn = store.write()
        for (k, v) in pairs { try txn.put(key: data(k), value: data(v), lease: 0) }
        txn.end()
        try store.commit()
    }

    func delete(_ store: KVStore, _ k: String) throws {
        let txn = store.write()
        try txn.deleteRange(.single(key(k)))
        txn.end()
        try store.commit()
    }

    /// Collects the events delivered to `stream` until `count` events arrived.
    func collect(_ stream: WatchStream, events count: Int) async -> [(watchID: Int64, event: Event, responseRevision: Int64)] {
        var seen: [(Int64, Event, Int64)] = []
        while seen.count < count, let output = await stream.next() {
            if case .events(let response) = output {
                for event in response.events { seen.append((response.watchID, event, response.revision)) }
            }
        }
        return seen
    }

    @Test func createdComesFirstThenOneResponsePerRevision() async throws {
        let store = try makeStore()
        defer { store.close() }
        let stream = WatchStream(store: store.watchable)
        let id = stream.watch(id: nil, range: .interval(start: key("a"), end: key("b")), startRevision: 0)
        #expect(id == 0)
        guard case .created(0, 1) = await stream.next() else { Issue.record("expected created"); return }
        try put(store, ("a1", "x"), ("a2", "y"))
        try put(store, ("zz", "ignored"))
        try delete(store, "a1")
        guard case .events(let first) = await stream.next(), case .events(let second) = await stream.next() else {
            Issue.record("expected two event responses")
            return
        }
        #expect(first.revision == 2 && first.events.map(\.kv.key) == [data("a1"), data("a2")])
        #expect(second.revision == 4 && second.events.count == 1)
        #expect(second.events[0].kind == .delete && second.events[0].kv.modRevision == 4)
    }

    /// Holds a stream so that another thread can drop the last reference to it.
    final class StreamHolder: @unchecked Sendable {
        var stream: WatchStream?
    }

    /// The last reference to a stream may go while the store holds its lock: the sync
    /// thread or the apply loop delivering to it just as its owner lets go. Its deinit must
    /// not take that lock again (it did, and the store deadlocked; a test that released its
    /// stream during a catch-up hung the suite).
    @Test func streamReleasedUnderTheStoreLockIsForgottenWithoutDeadlock() async throws {
        let store = try makeStore()
        let holder = StreamHolder()
        holder.stream = WatchStream(store: store.watchable)
        holder.stream?.watch(id: nil, range: .single(key("k")), startRevision: 0)
        #expect(store.watchable.watcherCount == 1)
        let released = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            store.watchable.withLock { _ in holder.stream = nil }
            released.signal()
        }
        guard released.wait(timeout: .now() + 5) == .success else {
            Issue.record("dropping the stream under the store's lock deadlocked")
            return
        }
        #expect(store.watchable.watcherCount == 0, "the stream's watchers are forgotten")
        try put(store, ("k", "v"))
        store.close()
    }

    @Test func pastStartCatchesUpWithoutGapOrDuplicate() async throws {
        let store = try makeStore()
        defer { store.close() }
        for i in 0..<50 { try put(store, ("k", "\(i)")) }
        let stream = WatchStream(store: store.watchable)
        stream.watch(id: 7, range: .single(key("k")), startRevision: 10)
        // Keep writing while the watcher catches up.
        let writer = Task {
            for i in 50..<150 { try put(store, ("k", "\(i)")) }
        }
        let seen = await collect(stream, events: 150 - 8)
        try await writer.value
        #expect(seen.map(\.event.kv.modRevision) == Array(10...151))
        #expect(seen.allSatisfy { $0.watchID == 7 })
    }

    @Test func slowStreamBecomesVictimAndStillGetsEverythingInOrder() async throws {
        let store = try makeStore()
        defer { store.close() }
        let slow = WatchStream(store: store.watchable, capacity: 2)
        slow.watch(id: nil, range: .interval(start: [], end: nil), startRevision: 0)
        for i in 0..<300 { try put(store, ("k\(i % 7)", "\(i)")) }
        // Nobody read yet: the stream is far behind. Now read everything.
        let seen = await collect(slow, events: 300)
        #expect(seen.map(\.event.kv.modRevision) == Array(2...301))
    }

    @Test func compactedStartRevisionIsReportedAndEndsTheWatch() async throws {
        let store = try makeStore()
        defer { store.close() }
        for i in 0..<5 { try put(store, ("k", "\(i)")) }
        try store.compact(4)
        try store.commit()
        let stream = WatchStream(store: store.watchable)
        stream.watch(id: nil, range: .single(key("k")), startRevision: 2)
        _ = await stream.next()  // created
        guard case .events(let response) = await stream.next() else { Issue.record("expected a response"); return }
        #expect(response.compactRevision == 4 && response.events.isEmpty)
        #expect(stream.watchIDs.isEmpty)
    }

    @Test func filtersDropEventKinds() async throws {
        let store = try makeStore()
        defer { store.close() }
        let stream = WatchStream(store: store.watchable)
        stream.watch(id: nil, range: .single(key("k")), startRevision: 0, filters: .noPut)
        _ = await stream.next()
        try put(store, ("k", "1"))
        try delete(store, "k")
        guard case .events(let response) = await stream.next() else { Issue.record("expected events"); return }
        #expect(response.events.map(\.kind) == [.delete])
    }

    @Test func idsDuplicatesAndEmptyRanges() async throws {
        let store = try makeStore()
        defer { store.close() }
        let stream = WatchStream(store: store.watchable)
        #expect(stream.watch(id: 1, range: .single(key("a")), startRevision: 0) == 1)
        #expect(stream.watch(id: nil, range: .single(key("a")), startRevision: 0) == 0)
        #expect(stream.watch(id: nil, range: .single(key("a")), startRevision: 0) == 2, "auto IDs skip taken ones")
        #expect(stream.watch(id: 1, range: .single(key("a")), startRevision: 0) == nil)
        #expect(stream.watch(id: nil, range: .interval(start: key("b"), end: key("a")), startRevision: 0) == nil)
        var reasons: [String] = []
        for _ in 0..<5 {
            if case .rejected(let reason, _) = await stream.next() { reasons.append(reason) }
        }
        #expect(reasons == ["mvcc: duplicate watch ID provided on the WatchStream", "mvcc: watcher range is empty"])
        #expect(stream.cancel(id: 2))
        #expect(!stream.cancel(id: 2))
    }

    @Test func thousandWatchersOnOverlappingPrefixesSeeEveryEventOnce() async throws {
        let store = try makeStore()
        defer { store.close() }
        let prefixes = ["", "a", "ab", "abc", "b"]
        var streams: [(WatchStream, String)] = []
        for i in 0..<1000 {
            let prefix = prefixes[i % prefixes.count]
            let stream = WatchStream(store: store.watchable)
            let range: KeyRange = prefix.isEmpty
                ? .interval(start: [], end: nil) : .interval(start: key(prefix), end: KeyRangePrefix.end(of: key(prefix)))
            stream.watch(id: nil, range: range, startRevision: 0)
            _ = await stream.next()
            streams.append((stream, prefix))
        }
        let keys = ["a", "ab", "abc", "abcd", "b", "c", "abz"]
        var written: [(String, Int64)] = []
        for i in 0..<200 {
            let k = keys[i % keys.count]
            try put(store, (k, "\(i)"))
            written.append((k, Int64(i + 2)))
        }
        for (stream, prefix) in streams {
            let expected = written.filter { $0.0.hasPrefix(prefix) }.map(\.1)
            let seen = await collect(stream, events: expected.count)
            #expect(seen.map(\.event.kv.modRevision) == expected)
        }
    }
}

enum KeyRangePrefix {
    static func end(of prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }
}
