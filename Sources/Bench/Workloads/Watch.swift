import ArgumentParser
import EtcdProto
import Foundation
import Histogram
import Synchronization

/// `watch`: `--streams` watch streams of `--watch-per-stream` watchers each, watching
/// `--watched-key-total` keys; then `--put-total` puts to those keys. Reports how long the
/// events took to arrive: from the put's sending to the event's receipt (`latency_ms`, as
/// etcd's watch-latency benchmark measures it), and from the put's acknowledgement
/// (`after_ack`; an event that beats the acknowledgement counts as 0 and is counted in
/// `events_before_ack`).
public struct WatchCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Benchmark watch event delivery.")

    @OptionGroup public var connection: ConnectionOptions

    /// Watch streams (gRPC bidi calls), spread round-robin over the connections.
    @Option(help: "Total watch streams.")
    public var streams: Int = 10

    /// Watchers created on each stream.
    @Option(help: "Watchers per stream.")
    public var watchPerStream: Int = 100

    /// Distinct keys watched; watcher `w` watches key `w % watchedKeyTotal`.
    @Option(help: "Total number of keys watched.")
    public var watchedKeyTotal: Int = 1

    /// Puts made once every watcher exists; put `i` writes key `i % watchedKeyTotal`.
    @Option(help: "Number of puts.")
    public var putTotal: Int = 100

    /// Puts per second over all clients; 0 is no limit.
    @Option(help: "Puts per second (0 is no limit).")
    public var putRate: Int = 0

    /// Bytes per watched key.
    @Option(help: "Key size in bytes.")
    public var keySize: Int = 32

    /// Bytes per value put.
    @Option(help: "Value size in bytes.")
    public var valSize: Int = 8

    /// How long to wait for missing events after the last put.
    @Option(help: "Seconds to wait for outstanding events after the last put.")
    public var timeout: Double = 60

    public init() {}

    public func validate() throws {
        guard streams > 0, watchPerStream > 0, watchedKeyTotal > 0, putTotal > 0 else {
            throw ValidationError("--streams, --watch-per-stream, --watched-key-total and --put-total must be positive")
        }
        guard putRate >= 0 else { throw ValidationError("--put-rate must not be negative") }
    }

    /// Events watcher `watcher` should see: one per put to its key.
    public static func expectedEvents(watcher: Int, watchedKeys: Int, puts: Int) -> Int {
        let key = watcher % watchedKeys
        return key < puts ? (puts - 1 - key) / watchedKeys + 1 : 0
    }

    public func execute() async throws {
        let keys = try KeyGenerator(keySize: keySize, keySpaceSize: watchedKeyTotal, sequential: true)
        let watched = (0..<watchedKeyTotal).map { keys.key(slot: $0) }
        let value = randomBytes(valSize)
        let pool = try await connection.openPool()
        let watchers = streams * watchPerStream
        let created = SharedCounter()
        let inbox = (0..<streams).map { _ in EventInbox() }
        let setupStart = monotonicNanoseconds()

        let (watchPerStream, watchedKeyTotal, putTotal) = (self.watchPerStream, self.watchedKeyTotal, self.putTotal)
        let streamTasks = (0..<streams).map { stream in
            Task {
                let firstWatcher = stream * watchPerStream
                let expected = (firstWatcher..<firstWatcher + watchPerStream).reduce(0) {
                    $0 + Self.expectedEvents(watcher: $1, watchedKeys: watchedKeyTotal, puts: putTotal)
                }
                let box = inbox[stream]
                box.reserve(expected)
                let watch = pool.connection(forClient: stream).watchStream()
                do {
                    for watcher in firstWatcher..<firstWatcher + watchPerStream {
                        var create = Etcdserverpb_WatchCreateRequest()
                        create.key = watched[watcher % watchedKeyTotal]
                        var request = Etcdserverpb_WatchRequest()
                        request.createRequest = create
                        try watch.send(request)
                    }
                    var createdHere = 0
                    var received = 0
                    while createdHere < watchPerStream || received < expected {
                        try Task.checkCancellation()
                        guard let message = try await watch.next() else {
                            throw BenchError.failed("watch stream ended early")
                        }
                        let now = monotonicNanoseconds()
                        if message.created {
                            createdHere += 1
                            created.add(1)
                        }
                        if !message.events.isEmpty {
                            box.record(message.events, at: now)
                            received += message.events.count
                        }
                    }
                } catch {
                    box.fail(error)
                }
                watch.cancel()
            }
        }

        // Every watcher must exist before the first put.
        while created.current < watchers {
            try await Task.sleep(for: .milliseconds(1))
            if monotonicNanoseconds() - setupStart > UInt64(timeout * 1e9) {
                throw BenchError.failed("only \(created.current) of \(watchers) watchers were created")
            }
        }
        let setupSeconds = Double(monotonicNanoseconds() - setupStart) / 1e9

        let acks = Shared<[Int64: AckTimes]>([:])
        let puts = await LoadRunner.run(
            clients: connection.clients, total: putTotal, rate: putRate > 0 ? RateLimiter(perSecond: putRate) : nil
        ) { client, index in
            var request = Etcdserverpb_PutRequest()
            request.key = watched[index % watchedKeyTotal]
            request.value = value
            let sent = monotonicNanoseconds()
            let response = try await pool.connection(forClient: client).put(request)
            let acked = monotonicNanoseconds()
            acks.withLock { $0[response.header.revision] = AckTimes(sent: sent, acked: acked) }
            return 0
        }

        // Wait for the events, at most `timeout` after the last put.
        let waiter = Task {
            for task in streamTasks { await task.value }
        }
        let timeout = self.timeout
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeout))
            for task in streamTasks { task.cancel() }
            for connection in pool.connections { await connection.close() }
        }
        await waiter.value
        watchdog.cancel()
        await pool.close()

        let ackTimes = acks.withLock { $0 }
        var endToEnd = makeHistogram()
        var afterAck = makeHistogram()
        var beforeAck = 0
        var received = 0
        var unmatched = 0
        var lastReceipt: UInt64 = 0
        var failures: [String: Int] = [:]
        for box in inbox {
            let (events, failure) = box.contents()
            if let failure { failures[failure, default: 0] += 1 }
            for event in events {
                received += 1
                lastReceipt = max(lastReceipt, event.receivedAt)
                guard let ack = ackTimes[event.revision] else {
                    unmatched += 1
                    continue
                }
                if event.receivedAt <= ack.acked { beforeAck += 1 }
                _ = afterAck.record(event.receivedAt > ack.acked ? event.receivedAt - ack.acked : 1)
                _ = endToEnd.record(max(1, event.receivedAt &- ack.sent))
            }
        }
        let expected = (0..<watchers).reduce(0) {
            $0 + Self.expectedEvents(watcher: $1, watchedKeys: watchedKeyTotal, puts: putTotal)
        }
        let duration = lastReceipt > puts.startNanoseconds ? Double(lastReceipt - puts.startNanoseconds) / 1e9 : 0
        var parameters = connection.parameters
        parameters["streams"] = String(streams)
        parameters["watch_per_stream"] = String(watchPerStream)
        parameters["watched_key_total"] = String(watchedKeyTotal)
        parameters["put_total"] = String(putTotal)
        parameters["put_rate"] = String(putRate)
        parameters["key_size"] = String(keySize)
        parameters["val_size"] = String(valSize)
        let report = BenchReport(
            benchmark: "watch", parameters: parameters,
            requests: received, errors: expected - received + puts.errorCount,
            errorMessages: puts.errorMessages.merging(failures) { $0 + $1 },
            durationSeconds: duration, latency: LatencySummary(histogram: endToEnd),
            additionalLatencies: [
                "after_ack": LatencySummary(histogram: afterAck),
                "put": LatencySummary(nanoseconds: puts.allLatencies),
            ],
            counters: [
                "watchers": Double(watchers), "events_expected": Double(expected), "events_received": Double(received),
                "events_before_ack": Double(beforeAck), "events_unmatched": Double(unmatched),
                "watch_setup_s": setupSeconds,
            ])
        emit(report, json: connection.json)
    }
}
