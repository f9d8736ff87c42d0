import ArgumentParser
import EtcdProto
import Foundation
import Synchronization

/// `watch-get`: `--watchers` watchers start `--events` revisions in the past (so the server
/// must catch them up from storage) while one client measures serializable gets of another
/// key; the run ends when every watcher has its events.
public struct WatchGetCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(
        commandName: "watch-get", abstract: "Benchmark gets while many unsynced watchers catch up.")

    @OptionGroup public var connection: ConnectionOptions

    /// Watchers in all.
    @Option(help: "Total number of watchers.")
    public var watchers: Int = 10000

    /// Streams the watchers are spread over.
    @Option(help: "Total number of watch streams.")
    public var streams: Int = 1

    /// Events each watcher must receive (puts made before the watchers start).
    @Option(help: "Number of events per watcher.")
    public var events: Int = 8

    /// How long the watchers may take to catch up.
    @Option(help: "Seconds to wait for the watchers to catch up.")
    public var timeout: Double = 120

    public init() {}

    public func validate() throws {
        guard watchers > 0, streams > 0, events > 0, timeout > 0 else {
            throw ValidationError("--watchers, --streams, --events and --timeout must be positive")
        }
    }

    public func execute() async throws {
        let pool = try await connection.openPool()
        let getPool = try await ConnectionPool(
            endpoints: [pool.connections[0].endpoint], count: 1, transport: connection.transport)
        try await getPool.warmUp()
        let key = Data("watchkey".utf8)
        var firstRevision: Int64 = 0
        for event in 0..<events {
            var put = Etcdserverpb_PutRequest()
            put.key = key
            put.value = Data(String(event).utf8)
            let response = try await pool.connection(forClient: 0).put(put)
            if event == 0 { firstRevision = response.header.revision }
        }

        let (watchers, streams, events, startRevision) = (self.watchers, self.streams, self.events, firstRevision)
        let delivered = SharedCounter()
        let watchStart = monotonicNanoseconds()
        let streamTasks = (0..<streams).map { stream in
            Task {
                let mine = watchers / streams + (stream < watchers % streams ? 1 : 0)
                let watch = pool.connection(forClient: stream).watchStream()
                var create = Etcdserverpb_WatchCreateRequest()
                create.key = key
                create.startRevision = startRevision
                var request = Etcdserverpb_WatchRequest()
                request.createRequest = create
                for _ in 0..<mine { try? watch.send(request) }
                var received = 0
                while received < mine * events, let message = try? await watch.next() {
                    received += message.events.count
                    delivered.add(message.events.count)
                }
                watch.cancel()
            }
        }

        var get = Etcdserverpb_RangeRequest()
        get.key = Data("abc".utf8)
        get.serializable = true
        let getRequest = get
        let getter = getPool.connections[0]
        let expected = watchers * events
        let stop = SharedCounter()
        let finisher = Task {
            for task in streamTasks { await task.value }
            stop.add(1)
        }
        // Closing the connections ends the streams of watchers that never caught up.
        let timeout = self.timeout
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeout))
            for connection in pool.connections { await connection.close() }
        }
        let gets = await LoadRunner.run(clients: 1, total: .max, isDone: { stop.current > 0 }) { _, _ in
            _ = try await getter.range(getRequest)
            return 0
        }
        await finisher.value
        watchdog.cancel()
        let deliverySeconds = Double(monotonicNanoseconds() - watchStart) / 1e9
        await pool.close()
        await getPool.close()

        var parameters = connection.parameters
        parameters["watchers"] = String(watchers)
        parameters["streams"] = String(streams)
        parameters["events"] = String(events)
        let missing = max(0, expected - delivered.current)
        let report = BenchReport(
            benchmark: "watch-get", parameters: parameters,
            requests: gets.requestCount, errors: gets.errorCount + missing,
            errorMessages: gets.errorMessages.merging(missing > 0 ? ["events not delivered": missing] : [:]) { $0 + $1 },
            durationSeconds: gets.durationSeconds, latency: LatencySummary(nanoseconds: gets.allLatencies),
            counters: [
                "events_expected": Double(expected), "events_received": Double(delivered.current),
                "catch_up_s": deliverySeconds,
            ])
        emit(report, json: connection.json)
    }
}
