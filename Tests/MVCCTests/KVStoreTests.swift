import Foundation
import Storage
import Synchronization
import Testing
@testable import MVCC

@Suite struct KVStoreTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("mvcc-\(UUID().uuidString)").appendingPathComponent("db").path
    }

    func data(_ s: String) -> Data { Data(s.utf8) }

    /// Applies one write transaction and commits it, as the apply loop does.
    @discardableResult
    func write(_ store: KVStore, _ body: (WriteTxn) throws -> Void) throws -> Int64 {
        let txn = store.write()
        try body(txn)
        txn.end()
        try store.commit()
        return store.revision
    }

    func get(_ store: KVStore, _ key: String, rev: Int64 = 0) throws -> KeyValue? {
        try store.read { try $0.range(.single(Array(key.utf8)), options: RangeOptions(revision: rev)).kvs.first }
    }

    @Test func revisionsVersionsAndCreateRevisions() throws {
        let store = try KVStore(backend: Backend(path: Self.temporaryPath()))
        #expect(store.revision == 1, "an empty store is at revision 1, like etcd")
        try write(store) { try $0.put(key: data("a"), value: data("1"), lease: 0) }
        try write(store) { try $0.put(key: data("a"), value: data("2"), lease: 0) }
        try write(store) { try $0.put(key: data("b"), value: data("x"), lease: 0) }
        let a = try #require(try get(store, "a"))
        #expect(a.createRevision == 2 && a.modRevision == 3 && a.version == 2 && a.value == data("2"))
        #expect(try get(store, "a", rev: 2)?.value == data("1"))
        #expect(try get(store, "b", rev: 3) == nil)
        #expect(store.revision == 4)
    }

    @Test func oneTransactionIsOneRevision() throws {
        let store = try KVStore(backend: Backend(path: Self.temporaryPath()))
        let rev = try write(store) { txn in
            try txn.put(key: data("a"), value: data("1"), lease: 0)
            try txn.put(key: data("b"), value: data("2"), lease: 0)
            let inside = try txn.range(.interval(start: [], end: nil), options: RangeOptions())
            #expect(inside.kvs.count == 2, "a transaction reads its own writes")
        }
        #expect(rev == 2)
        #expect(try get(store, "b")?.modRevision == 2)
    }

    @Test func deleteLeavesHistoryAndRestartsVersion() throws {
        let store = try KVStore(backend: Backend(path: Self.temporaryPath()))
        try write(store) { try $0.put(key: data("k"), value: data("1"), lease: 0) }
        var deleted: (Int64, Int64) = (0, 0)
        try write(store) { deleted = try $0.deleteRange(.single(Array("k".utf8))) }
        #expect(deleted == (1, 3))
        #expect(try get(store, "k") == nil)
        #expect(try get(store, "k", rev: 2)?.value == data("1"))
        try write(store) { try $0.put(key: data("k"), value: data("2"), lease: 0) }
        let k = try #require(try get(store, "k"))
        #expect(k.version == 1 && k.createRevision == 4)
        var nothing: (Int64, Int64) = (0, 0)
        try write(store) { nothing = try $0.deleteRange(.single(Array("missing".utf8))) }
        #expect(nothing == (0, 4), "deleting nothing does not create a revision")
        #expect(store.revision == 4)
    }

    @Test func rangeLimitCountAndBounds() throws {
        let store = try KVStore(backend: Backend(path: Self.temporaryPath()))
        for key in ["a", "b", "c", "d"] {
            try write(store) { try $0.put(key: data(key), value: data(key), lease: 0) }
        }
        let limited = try store.read { try $0.range(.interval(start: Array("a".utf8), end: nil), options: RangeOptions(limit: 2)) }
        #expect(limited.kvs.map(\.key) == [data("a"), data("b")])
        #expect(limited.count == 4)
        let bounded = try store.read { try $0.range(.interval(start: Array("b".utf8), end: Array("d".utf8)), options: RangeOptions()) }
        #expect(bounded.kvs.map(\.key) == [data("b"), data("c")])
        let counted = try store.read { try $0.range(.interval(start: [], end: nil), options: RangeOptions(countOnly: true)) }
        #expect(counted.kvs.isEmpty && counted.count == 4)
    }

    @Test func futureAndCompactedRevisions() throws {
        let store = try KVStore(backend: Backend(path: Self.temporaryPath()))
        for value in ["1", "2", "3"] {
            try write(store) { try $0.put(key: data("k"), value: data(value), lease: 0) }
        }
        #expect(throws: MVCCError.futureRevision) { try get(store, "k", rev: 5) }
        try store.compact(3)
        try store.commit()
        #expect(throws: MVCCError.compacted) { try get(store, "k", rev: 2) }
        #expect(try get(store, "k", rev: 3)?.value == data("2"), "the compaction revision itself stays readable")
        #expect(throws: MVCCError.compacted) { try store.compact(3) }
        #expect(throws: MVCCError.futureRevision) { try store.compact(9) }
    }

    @Test func compactionFreesHistoryInTheBackend() throws {
        let backend = try Backend(path: Self.temporaryPath())
        let store = try KVStore(backend: backend)
        for i in 0..<10 {
            try write(store) { try $0.put(key: data("k"), value: data("\(i)"), lease: 0) }
        }
        try write(store) { _ = try $0.deleteRange(.single(Array("k".utf8))) }
        try write(store) { try $0.put(key: data("other"), value: data("x"), lease: 0) }
        #expect(try backend.read { try $0.all(.key) }.count == 12)
        try store.compact(store.revision)
        try store.commit()
        let rows = try backend.read { try $0.all(.key) }
        #expect(rows.count == 1, "only the live key's latest revision is left")
        #expect(store.indexedKeyCount == 1)
    }

    /// etcd_debugging_mvcc_keys_total counts keys that exist: it went up on put but never
    /// down on delete, as it counted every key with history.
    @Test func liveKeysGoDownOnDeleteAndSurviveReload() throws {
        let path = Self.temporaryPath()
        let store = try KVStore(backend: Backend(path: path))
        try write(store) { try $0.put(key: data("a"), value: data("1"), lease: 0) }
        try write(store) { try $0.put(key: data("b"), value: data("1"), lease: 0) }
        try write(store) { try $0.put(key: data("a"), value: data("2"), lease: 0) }
        #expect(store.liveKeyCount == 2)
        try write(store) { _ = try $0.deleteRange(.single(Array("a".utf8))) }
        try write(store) { _ = try $0.deleteRange(.single(Array("a".utf8))) }
        #expect(store.liveKeyCount == 1)
        try write(store) { try $0.put(key: data("a"), value: data("3"), lease: 0) }
        try write(store) { _ = try $0.deleteRange(.single(Array("b".utf8))) }
        #expect(store.liveKeyCount == 1)
        try store.reload()
        #expect(store.liveKeyCount == 1)
    }

    @Test func restartRebuildsIndexAndRevisions() throws {
        let path = Self.temporaryPath()
        do {
            let backend = try Backend(path: path)
            let store = try KVStore(backend: backend)
            try write(store) { try $0.put(key: data("a"), value: data("1"), lease: 0) }
            try write(store) { try $0.put(key: data("a"), value: data("2"), lease: 7) }
            try write(store) { try $0.put(key: data("b"), value: data("1"), lease: 0) }
            try write(store) { _ = try $0.deleteRange(.single(Array("b".utf8))) }
            try store.compact(3)
            try store.commit()
            try backend.close()
        }
        let store = try KVStore(backend: Backend(path: path))
        #expect(store.revision == 5)
        #expect(store.compactRevision == 3)
        let a = try #require(try get(store, "a"))
        #expect(a.version == 2 && a.createRevision == 2 && a.lease == 7)
        #expect(try get(store, "b") == nil)
        #expect(try get(store, "b", rev: 4)?.value == data("1"))
        try write(store) { try $0.put(key: data("a"), value: data("3"), lease: 0) }
        #expect(try get(store, "a")?.version == 3)
    }

    @Test func restartReattachesOnlyLiveLeasedKeys() throws {
        let path = Self.temporaryPath()
        do {
            let backend = try Backend(path: path)
            let store = try KVStore(backend: backend)
            try write(store) { try $0.put(key: data("kept"), value: data("1"), lease: 5) }
            try write(store) { try $0.put(key: data("released"), value: data("1"), lease: 5) }
            try write(store) { try $0.put(key: data("released"), value: data("2"), lease: 0) }
            try write(store) { try $0.put(key: data("deleted"), value: data("1"), lease: 6) }
            try write(store) { _ = try $0.deleteRange(.single(Array("deleted".utf8))) }
            try write(store) { try $0.put(key: data("moved"), value: data("1"), lease: 6) }
            try write(store) { try $0.put(key: data("moved"), value: data("2"), lease: 7) }
            try write(store) { try $0.put(key: data("plain"), value: data("1"), lease: 0) }
            try store.commit()
            try backend.close()
        }
        let attachments = RecordedAttachments()
        _ = try KVStore(backend: Backend(path: path), leases: attachments)
        #expect(attachments.attached == ["kept": 5, "moved": 7])
    }

    @Test func emptyStoreAfterCompactingEverythingKeepsItsRevision() throws {
        let path = Self.temporaryPath()
        do {
            let backend = try Backend(path: path)
            let store = try KVStore(backend: backend)
            try write(store) { try $0.put(key: data("a"), value: data("1"), lease: 0) }
            try write(store) { _ = try $0.deleteRange(.single(Array("a".utf8))) }
            try store.compact(3)
            try store.commit()
            try backend.close()
        }
        let store = try KVStore(backend: Backend(path: path))
        #expect(store.revision == 3)
    }

    /// etcd 3.4.23 answered `endpoint hashkv` with 2587454935 after a single `put a 1` that
    /// landed at revision 2 (compact revision -1); the same history must hash the same.
    @Test func hashMatchesEtcd() throws {
        let store = try KVStore(backend: Backend(path: Self.temporaryPath()))
        try write(store) { try $0.put(key: data("a"), value: data("1"), lease: 0) }
        let result = try store.hash(atRevision: 0)
        #expect(result.hash == 2_587_454_935)
        #expect(result.revision == 2 && result.compactRevision == -1)
    }

    /// A reader must never see a revision its backend snapshot lacks, even when a commit lands
    /// between taking the snapshot and choosing the revision to read at. (Seen as an intermittent
    /// "revision N is in the index but not in the backend" under concurrent STM reads.)
    @Test func readersRacingCommitsAlwaysFindTheirRevision() throws {
        let store = try KVStore(backend: Backend(path: Self.temporaryPath()))
        let writes = 3000
        let counters = RaceCounters()
        // Plain threads: spinning readers must not starve the writer of the cooperative pool.
        let readers = (0..<2).map { _ in
            Thread {
                while !counters.done.load(ordering: .acquiring) {
                    do {
                        _ = try store.read { try $0.range(.single(Array("hot".utf8)), options: RangeOptions()) }
                        counters.reads.add(1, ordering: .relaxed)
                    } catch {
                        counters.failures.add(1, ordering: .relaxed)
                    }
                }
                counters.finished.add(1, ordering: .releasing)
            }
        }
        readers.forEach { $0.start() }
        for i in 0..<writes {
            try write(store) { try $0.put(key: data("hot"), value: data("\(i)"), lease: 0) }
        }
        counters.done.store(true, ordering: .releasing)
        while counters.finished.load(ordering: .acquiring) < readers.count { usleep(1000) }
        #expect(counters.reads.load(ordering: .relaxed) > 0)
        #expect(counters.failures.load(ordering: .relaxed) == 0)
        #expect(try get(store, "hot")?.value == data("\(writes - 1)"))
    }

    /// The apply loop answers a batch's writers before the backend commits it. Anyone who
    /// reads or starts a watch in that window must wait for the commit: a serializable get
    /// or a watch from "now" that missed a write its client was already told about would
    /// break read-your-writes. The committing thread itself must not wait for itself.
    @Test(.timeLimit(.minutes(1))) func readersWaitForWritesAnsweredBeforeTheirCommit() async throws {
        let store = try KVStore(backend: Backend(path: Self.temporaryPath()))
        defer { store.close() }
        let txn = store.write()
        try txn.put(key: data("k"), value: data("answered"), lease: 0)
        txn.end()
        store.answerBeforeCommit()
        #expect(store.revision == 1, "the committing thread reads without waiting for itself")

        let seen = Mutex<(value: Data?, readRevision: Int64)>((nil, 0))
        let readerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            let kv = try? get(store, "k")
            let revision = store.revision
            seen.withLock { $0.value = kv?.value; $0.readRevision = revision }
            readerDone.signal()
        }
        let stream = WatchStream(store: store.watchable)
        let watcherDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            stream.watch(id: nil, range: .single(Array("k".utf8)), startRevision: 0)
            watcherDone.signal()
        }
        #expect(readerDone.wait(timeout: .now() + .milliseconds(200)) == .timedOut, "the read waits for the commit")
        #expect(watcherDone.wait(timeout: .now()) == .timedOut, "the watch waits for the commit")
        try store.commit()
        #expect(readerDone.wait(timeout: .now() + 10) == .success)
        #expect(watcherDone.wait(timeout: .now() + 10) == .success)
        let result = seen.withLock { $0 }
        #expect(result.value == data("answered") && result.readRevision == 2)
        guard case .created(_, let createdAt) = await stream.next() else { Issue.record("expected created"); return }
        #expect(createdAt == 2, "a watch from now starts after the answered write")
        try write(store) { try $0.put(key: data("k"), value: data("next"), lease: 0) }
        guard case .events(let response) = await stream.next() else { Issue.record("expected events"); return }
        #expect(response.events.map(\.kv.modRevision) == [3], "the answered write is not replayed to the new watch")
    }

    @Test func keyValueCodecRoundTrips() throws {
        let kv = KeyValue(key: data("key"), createRevision: 3, modRevision: 300, version: 2, value: Data(repeating: 7, count: 300), lease: 1 << 40)
        let encoded = KeyValueCodec.encode(kv)
        #expect(try encoded.withUnsafeBytes { try KeyValueCodec.decode($0) } == kv)
        let tombstone = KeyValue(key: data("k"))
        #expect(KeyValueCodec.encode(tombstone) == [0x0A, 0x01, 0x6B])
    }
}

private final class RaceCounters: Sendable {
    let reads = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let done = Atomic<Bool>(false)
    let finished = Atomic<Int>(0)
}

/// Lease attachments as the store reports them at start-up.
final class RecordedAttachments: LeaseAttachments, @unchecked Sendable {
    // @unchecked: only the loading thread touches it in these tests.
    var attached: [String: Int64] = [:]
    func lease(of key: [UInt8]) -> Int64 { attached[String(decoding: key, as: UTF8.self)] ?? 0 }
    func attach(_ lease: Int64, key: [UInt8]) { attached[String(decoding: key, as: UTF8.self)] = lease }
    func detach(_ lease: Int64, key: [UInt8]) { attached[String(decoding: key, as: UTF8.self)] = nil }
}
