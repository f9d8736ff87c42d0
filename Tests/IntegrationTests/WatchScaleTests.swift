import EtcdProto
import Foundation
import GRPCCore
import HarnessSupport
import Synchronization
import Testing
import TestLoad
#if canImport(Glibc)
import Glibc
#endif

/// Many watchers under a write load, and a watcher that stops reading.
@Suite(.serialized, .load(3)) struct WatchScaleTests {
    /// 1,000 watches (50 gRPC streams × 20) on overlapping prefixes of 50 keys — `w/`, `w/<x>/`
    /// and `w/<x>/<y>` — while 8 writers put 640 times: every watch sees exactly the events
    /// of its prefix, each once, in revision order.
    @Test func thousandWatchersSeeEveryEventOnceInRevisionOrder() async throws {
        let server = try makeSwetcd("swetcd-watchers")
        defer {
            server.stop()
            server.removeFiles()
        }
        try server.startAndWait()
        let start = Date()

        let keys = (0..<5).flatMap { x in (0..<10).map { y in "w/\(x)/\(y)" } }
        let prefixes = ["w/"] + (0..<5).map { "w/\($0)/" } + keys
        let connections = try (0..<5).map { _ in try ServiceClients(port: server.clientPort) }
        var streams: [BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse>] = []
        /// (stream, watch ID) → prefix.
        var watchPrefix: [Int: [Int64: String]] = [:]
        for s in 0..<50 {
            let watch = connections[s % connections.count].watch
            let stream = BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse> { producer, onResponse in
                try await watch.watch(requestProducer: producer, onResponse: onResponse)
            }
            for i in 0..<20 {
                let prefix = prefixes[(s * 20 + i) % prefixes.count]
                var request = Etcdserverpb_WatchRequest()
                request.createRequest.key = Data(prefix.utf8)
                request.createRequest.rangeEnd = prefixEnd(prefix)
                request.createRequest.watchID = Int64(i + 1)
                watchPrefix[s, default: [:]][Int64(i + 1)] = prefix
                stream.send(request)
            }
            streams.append(stream)
        }
        // Every watch created before the first write.
        let createDeadline = Date().addingTimeInterval(30)
        while Date() < createDeadline, streams.contains(where: { $0.count < 20 }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        for (s, stream) in streams.enumerated() {
            let created = stream.all.filter(\.created)
            #expect(created.count == 20, "stream \(s): \(created.count) of 20 watches created (\(stream.endReason ?? "open"))")
            #expect(created.allSatisfy { !$0.canceled })
        }
        let created = Date()

        // The write load: 8 writers, 80 puts each, on random keys.
        let writes = Locked<[(revision: Int64, key: String)]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                let kv = connections[writer % connections.count].kv
                group.addTask {
                    for n in 0..<80 {
                        let key = keys.randomElement()!
                        var put = Etcdserverpb_PutRequest()
                        put.key = Data(key.utf8)
                        put.value = Data("\(writer)-\(n)".utf8)
                        let response = try await kv.put(put, options: .timeout(seconds: 10))
                        writes.withLock { $0.append((response.header.revision, key)) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let written = writes.value.sorted { $0.revision < $1.revision }
        let wrote = Date()
        #expect(Set(written.map(\.revision)).count == 640, "every put has its own revision")

        // What each watch must see: the writes under its prefix, in revision order.
        func expected(_ prefix: String) -> [(Int64, String)] {
            written.filter { $0.key.hasPrefix(prefix) }.map { ($0.revision, $0.key) }
        }
        var expectedTotal: [Int] = []
        for s in 0..<streams.count {
            expectedTotal.append(watchPrefix[s]!.values.reduce(0) { $0 + expected($1).count })
        }
        func eventCount(_ stream: BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse>) -> Int {
            stream.all.reduce(0) { $0 + $1.events.count }
        }
        let deliverDeadline = Date().addingTimeInterval(60)
        while Date() < deliverDeadline, streams.indices.contains(where: { eventCount(streams[$0]) < expectedTotal[$0] }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let delivered = Date()
        // Anything extra (a duplicate) shows up too: a progress request on each stream is
        // answered after whatever the stream had to send before it.
        let sentBefore = streams.map(\.count)
        var progress = Etcdserverpb_WatchRequest()
        progress.progressRequest = Etcdserverpb_WatchProgressRequest()
        for stream in streams { stream.send(progress) }
        try await waitUntil("a progress response on every stream", timeout: .seconds(30)) {
            streams.indices.allSatisfy { s in
                streams[s].all.dropFirst(sentBefore[s]).contains { $0.events.isEmpty && !$0.created && !$0.canceled }
            }
        }

        var totalEvents = 0
        var failures = 0
        for (s, stream) in streams.enumerated() {
            var seen: [Int64: [(Int64, String)]] = [:]
            for response in stream.all where !response.events.isEmpty {
                #expect(!response.canceled, "stream \(s) watch \(response.watchID) canceled")
                // A synced watcher gets one revision per response; one caught up after falling
                // behind may get several at once, in order, as etcd sends them.
                let revisions = response.events.map(\.kv.modRevision)
                #expect(revisions == revisions.sorted(), "a response's events are in revision order")
                #expect(revisions.last ?? 0 <= response.header.revision, "no event is newer than its response")
                for event in response.events {
                    seen[response.watchID, default: []].append((event.kv.modRevision, String(decoding: event.kv.key, as: UTF8.self)))
                }
            }
            for (id, prefix) in watchPrefix[s]! {
                let got = seen[id] ?? []
                let want = expected(prefix)
                totalEvents += got.count
                if !got.elementsEqual(want, by: { $0.0 == $1.0 && $0.1 == $1.1 }) {
                    failures += 1
                    if failures <= 5 {
                        let pairs = Array(zip(got, want))
                        let firstDifference: Int = pairs.firstIndex { $0.0.0 != $0.1.0 || $0.0.1 != $0.1.1 } ?? min(got.count, want.count)
                        Issue.record("stream \(s) watch \(id) on \(prefix): \(got.count) events, expected \(want.count); first difference at \(firstDifference)")
                    }
                }
            }
        }
        #expect(failures == 0, "\(failures) of 1000 watches saw the wrong events")
        print(String(format: "1000 watchers: %d events delivered to 1000 watches on 50 streams, %d watches wrong; "
            + "created in %.1f s, 640 puts in %.1f s, all delivered %.1f s later",
                     totalEvents, failures, created.timeIntervalSince(start), wrote.timeIntervalSince(created),
                     delivered.timeIntervalSince(wrote)))
        for stream in streams { await stream.close() }
        for connection in connections { await connection.close() }
    }

    /// A watcher that never reads (a real `etcdctl watch` whose stdout pipe nobody reads: it
    /// blocks, stops reading its gRPC stream, and the server's sends to it back up) must not
    /// hold up the writes: 1,000 puts go through while its pipe stays full and unchanged (a
    /// server whose writes waited for the stalled stream would make none). The put rates
    /// before and during the stall are printed; comparing them is a benchmark's job. A
    /// watcher that does read sees every event meanwhile.
    @Test func stalledWatcherDoesNotHoldUpWrites() async throws {
        let server = try makeSwetcd("swetcd-stall")
        let etcdctl = try Binaries.fromPath("etcdctl", override: "ETCDCTL_BIN")
        var stalled: Process?
        defer {
            if let stalled, stalled.isRunning { kill(stalled.processIdentifier, SIGKILL); stalled.waitUntilExit() }
            server.stop()
            server.removeFiles()
        }
        try server.startAndWait()
        let connections = try (0..<2).map { _ in try ServiceClients(port: server.clientPort) }

        // A healthy watcher on the same keys, reading all along.
        let watch = connections[0].watch
        let healthy = BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse> { producer, onResponse in
            try await watch.watch(requestProducer: producer, onResponse: onResponse)
        }
        var create = Etcdserverpb_WatchRequest()
        create.createRequest.key = Data("s/".utf8)
        create.createRequest.rangeEnd = prefixEnd("s/")
        healthy.send(create)
        try await waitUntil("the healthy watch created", timeout: .seconds(30)) { healthy.count >= 1 }

        // Writers put 8 KiB values as fast as they can until told to stop.
        let puts = Locked(0)
        let stop = Locked(false)
        let value = Data(repeating: UInt8(ascii: "x"), count: 8192)
        let writers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    let kv = connections[writer % 2].kv
                    group.addTask {
                        var n = 0
                        while !stop.value {
                            var put = Etcdserverpb_PutRequest()
                            put.key = Data("s/\(writer)/\(n % 50)".utf8)
                            put.value = value
                            _ = try await kv.put(put, options: .timeout(seconds: 10))
                            puts.withLock { $0 += 1 }
                            n += 1
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        func rate(since: (puts: Int, at: ContinuousClock.Instant)) -> Double {
            let elapsed = ContinuousClock.now - since.at
            return Double(puts.value - since.puts) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        try await waitUntil("200 puts before the stall", timeout: .seconds(60)) { puts.value >= 200 }
        let unstalled = (puts: puts.value, at: ContinuousClock.now)
        try await waitUntil("200 more puts", timeout: .seconds(60)) { puts.value >= unstalled.puts + 200 }
        let rateBefore = rate(since: unstalled)

        // The stalled watcher: its stdout is a pipe nobody reads.
        let process = Process()
        process.executableURL = etcdctl
        process.arguments = ["--endpoints=\(server.clientURL)", "watch", "--prefix", "s/"]
        process.environment = Binaries.cleanEnvironment(["ETCDCTL_API": "3"])
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        stalled = process
        func buffered() -> CInt {
            var count: CInt = 0
            _ = ioctl(pipe.fileHandleForReading.fileDescriptor, UInt(FIONREAD), &count)
            return count
        }
        // The pipe fills up and stops growing: etcdctl is blocked writing its output.
        var last: CInt = -1
        try await waitUntil("the stalled watcher's pipe filling up", timeout: .seconds(60)) {
            let now = buffered()
            defer { last = now }
            return now > 32_768 && now == last
        }
        // Proof that writes do not wait for it: 1,000 puts go through while what sits in the
        // pipe does not change (etcdctl reads nothing from its stream all that time).
        let pipeFull = buffered()
        let stall = (puts: puts.value, at: ContinuousClock.now)
        try await waitUntil("1,000 puts during the stall", timeout: .seconds(120)) { puts.value >= stall.puts + 1000 }
        let rateDuring = rate(since: stall)
        let pipeAfter = buffered()
        #expect(process.isRunning, "the stalled etcdctl watch exited")
        #expect(pipeFull == pipeAfter, "the stalled watcher's output still grows: it is not stalled")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? pipe.fileHandleForReading.close()

        stop.withLock { $0 = true }
        try await writers.value
        let total = puts.value

        // The healthy watcher saw every put.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, healthy.all.reduce(0, { $0 + $1.events.count }) < total {
            try await Task.sleep(for: .milliseconds(50))
        }
        let seen = healthy.all.reduce(0) { $0 + $1.events.count }
        print(String(format: "stalled watcher: %.0f puts/s before, %.0f/s during the stall (its pipe full at %d bytes); "
            + "healthy watcher saw %d of %d puts", rateBefore, rateDuring, Int(pipeAfter), seen, total))
        #expect(seen == total, "the healthy watcher missed events")
        await healthy.close()
        for connection in connections { await connection.close() }
    }
}

/// Polls `condition` every 100 ms until it holds; throws once `timeout` has passed without it.
func waitUntil(_ what: String, timeout: Duration, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw WaitTimedOut(description: "no \(what) within \(timeout)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}

struct WaitTimedOut: Error, CustomStringConvertible {
    let description: String
}

/// A value shared between tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func withLock<R: Sendable>(_ body: (inout sending Value) -> sending R) -> sending R { mutex.withLock(body) }
}

/// The end of the range of keys starting with `prefix` (etcd's prefix + 1).
func prefixEnd(_ prefix: String) -> Data {
    var bytes = Array(prefix.utf8)
    while let last = bytes.last {
        if last < 0xff {
            bytes[bytes.count - 1] = last + 1
            return Data(bytes)
        }
        bytes.removeLast()
    }
    return Data([0])
}
