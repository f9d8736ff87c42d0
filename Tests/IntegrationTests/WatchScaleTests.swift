import EtcdProto
import Foundation
import GRPCCore
import HarnessSupport
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Many watchers under a write load, and a watcher that stops reading.
final class WatchScaleTests: XCTestCase {
    /// 1,000 watches (50 gRPC streams × 20) on overlapping prefixes of 50 keys — `w/`, `w/<x>/`
    /// and `w/<x>/<y>` — while 8 writers put 640 times: every watch sees exactly the events
    /// of its prefix, each once, in revision order.
    func testThousandWatchersSeeEveryEventOnceInRevisionOrder() async throws {
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
            XCTAssertEqual(created.count, 20, "stream \(s): \(created.count) of 20 watches created (\(stream.endReason ?? "open"))")
            XCTAssertTrue(created.allSatisfy { !$0.canceled })
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
        XCTAssertEqual(Set(written.map(\.revision)).count, 640, "every put has its own revision")

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
        try await Task.sleep(for: .milliseconds(300))  // anything extra (a duplicate) shows up too
        let delivered = Date()

        var totalEvents = 0
        var failures = 0
        for (s, stream) in streams.enumerated() {
            var seen: [Int64: [(Int64, String)]] = [:]
            for response in stream.all where !response.events.isEmpty {
                XCTAssertFalse(response.canceled, "stream \(s) watch \(response.watchID) canceled")
                // A synced watcher gets one revision per response; one caught up after falling
                // behind may get several at once, in order, as etcd sends them.
                let revisions = response.events.map(\.kv.modRevision)
                XCTAssertEqual(revisions, revisions.sorted(), "a response's events are in revision order")
                XCTAssertLessThanOrEqual(revisions.last ?? 0, response.header.revision, "no event is newer than its response")
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
                        XCTFail("stream \(s) watch \(id) on \(prefix): \(got.count) events, expected \(want.count); first difference at \(firstDifference)")
                    }
                }
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) of 1000 watches saw the wrong events")
        print(String(format: "1000 watchers: %d events delivered to 1000 watches on 50 streams, %d watches wrong; "
            + "created in %.1f s, 640 puts in %.1f s, all delivered %.1f s later",
                     totalEvents, failures, created.timeIntervalSince(start), wrote.timeIntervalSince(created),
                     delivered.timeIntervalSince(wrote) - 0.3))
        for stream in streams { await stream.close() }
        for connection in connections { await connection.close() }
    }

    /// A watcher that never reads (a real `etcdctl watch` whose stdout pipe nobody reads: it
    /// blocks, stops reading its gRPC stream, and the server's sends to it back up) for 10 s
    /// must not slow the writes: put throughput is measured in 0.5 s windows before, during
    /// and after the stall, and the medians compared. A watcher that does read sees every
    /// event meanwhile.
    func testStalledWatcherDoesNotSlowWrites() async throws {
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
        while healthy.count < 1 { try await Task.sleep(for: .milliseconds(10)) }

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
        func windows(_ count: Int) async throws -> [Double] {
            var rates: [Double] = []
            for _ in 0..<count {
                let before = puts.value
                let clock = ContinuousClock.now
                try await Task.sleep(for: .milliseconds(500))
                let seconds = Double((ContinuousClock.now - clock).components.attoseconds) / 1e18
                    + Double((ContinuousClock.now - clock).components.seconds)
                rates.append(Double(puts.value - before) / seconds)
            }
            return rates
        }

        try await Task.sleep(for: .milliseconds(500))  // warm up
        let before = try await windows(6)

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
        // Proof of the stall: what sits in the pipe no longer grows while the writes go on, so
        // etcdctl is blocked writing its output and no longer reads its watch stream.
        func buffered() -> CInt {
            var count: CInt = 0
            _ = ioctl(pipe.fileHandleForReading.fileDescriptor, UInt(FIONREAD), &count)
            return count
        }
        var during = try await windows(18)
        let pipeBefore = buffered()
        during += try await windows(2)  // 10 s in all
        let pipeAfter = buffered()
        XCTAssertTrue(process.isRunning, "the stalled etcdctl watch exited")
        XCTAssertEqual(pipeBefore, pipeAfter, "the stalled watcher's output still grows: it is not stalled")
        XCTAssertGreaterThan(pipeAfter, 32_768, "the stalled watcher's pipe is not full")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? pipe.fileHandleForReading.close()

        let after = try await windows(6)
        stop.withLock { $0 = true }
        try await writers.value
        let total = puts.value

        // The healthy watcher saw every put.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, healthy.all.reduce(0, { $0 + $1.events.count }) < total {
            try await Task.sleep(for: .milliseconds(50))
        }
        let seen = healthy.all.reduce(0) { $0 + $1.events.count }

        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let baseline = median(before + after)
        let stalledMedian = median(during)
        print(String(format: "stalled watcher: put throughput median %.0f/s without (before %.0f, after %.0f), %.0f/s during a 10 s stall "
            + "(ratio %.2f; its pipe full at %d bytes); windows during: %@; healthy watcher saw %d of %d puts",
                     baseline, median(before), median(after), stalledMedian, stalledMedian / baseline, Int(pipeAfter),
                     during.map { String(format: "%.0f", $0) }.joined(separator: " "), seen, total))
        XCTAssertEqual(seen, total, "the healthy watcher missed events")
        // On a shared 2-core machine the ratio was seen between 0.67 and 1.19 with a correct
        // server; a server whose writes waited for the stalled stream would fall near 0.
        XCTAssertGreaterThan(stalledMedian, 0.4 * baseline, "writes slowed down while a watcher was stalled")
        await healthy.close()
        for connection in connections { await connection.close() }
    }
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
