import ArgumentParser
import Foundation
import NIOCore
import NIOEmbedded
import Testing

@testable import Bench

@Suite struct ArgumentParsingTests {
    @Test func putDefaultsMatchEtcdsTool() throws {
        let put = try PutCommand.parse([])
        #expect(put.connection.endpoints == "127.0.0.1:2379")
        #expect(put.connection.clients == 1)
        #expect(put.connection.conns == 1)
        #expect(put.load.total == 10000)
        #expect(put.load.rate == 0)
        #expect(put.keyValue.keySize == 8)
        #expect(put.keyValue.valSize == 8)
        #expect(put.keyValue.keySpaceSize == 1)
        #expect(!put.keyValue.sequentialKeys)
        #expect(!put.connection.json)
    }

    @Test func putTakesEveryOption() throws {
        let put = try PutCommand.parse([
            "--endpoints", "http://127.0.0.1:1,127.0.0.1:2", "--clients", "64", "--conns", "8", "--total", "5",
            "--key-size", "16", "--val-size", "256", "--sequential-keys", "--key-space-size", "1000", "--rate", "10",
            "--json", "--target-leader",
        ])
        #expect(put.connection.endpointList == [Endpoint(host: "127.0.0.1", port: 1), Endpoint(host: "127.0.0.1", port: 2)])
        #expect(put.connection.clients == 64 && put.connection.conns == 8)
        #expect(put.load.total == 5 && put.load.rate == 10)
        #expect(put.keyValue.keySize == 16 && put.keyValue.valSize == 256)
        #expect(put.keyValue.sequentialKeys && put.keyValue.keySpaceSize == 1000)
        #expect(put.connection.json && put.connection.targetLeader)
    }

    @Test func rejectsBadValues() {
        #expect(throws: (any Error).self) { try PutCommand.parse(["--clients", "0"]) }
        #expect(throws: (any Error).self) { try PutCommand.parse(["--endpoints", "nonsense"]) }
        #expect(throws: (any Error).self) { try PutCommand.parse(["--key-size", "1", "--key-space-size", "300"]) }
        #expect(throws: (any Error).self) { try RangeCommand.parse(["k", "--consistency", "x"]) }
        #expect(throws: (any Error).self) { try RangeCommand.parse(["k", "z", "--prefix"]) }
    }

    @Test func subcommandsAreReachableFromTheRoot() throws {
        let names = SwetcdBench.configuration.subcommands.map { $0.configuration.commandName }
        #expect(
            names == ["put", "range", "txn-put", "txn-mixed", "watch", "watch-get", "lease-keepalive", "mvcc-put", "wait-get", "connect"])
        let parsed = try SwetcdBench.parseAsRoot(["range", "foo", "--consistency", "s", "--prefix"])
        let range = try #require(parsed as? RangeCommand)
        let request = range.request()
        #expect(request.key == Data("foo".utf8))
        #expect(request.rangeEnd == Data("fop".utf8))
        #expect(request.serializable)
    }

    @Test func emptyPrefixReadsEverything() throws {
        let request = try RangeCommand.parse(["", "--prefix"]).request()
        #expect(request.key == Data([0]) && request.rangeEnd == Data([0]))
    }

    @Test func txnOpsMustFitTheKeySpace() {
        #expect(throws: (any Error).self) { try TxnPutCommand.parse(["--txn-ops", "4", "--key-space-size", "3"]) }
        #expect(throws: Never.self) { try TxnPutCommand.parse(["--txn-ops", "4", "--key-space-size", "4"]) }
    }

    @Test func rangeWithExplicitEnd() throws {
        let request = try RangeCommand.parse(["a", "c"]).request()
        #expect(request.rangeEnd == Data("c".utf8))
        #expect(!request.serializable)
    }

    @Test func watchAndMixedOptions() throws {
        let watch = try WatchCommand.parse(["--streams", "100", "--watch-per-stream", "100", "--put-total", "50"])
        #expect(watch.streams * watch.watchPerStream == 10000)
        let mixed = try TxnMixedCommand.parse(["--rw-ratio", "4", "--consistency", "s"])
        #expect(mixed.rwRatio == 4 && mixed.consistency == .s)
        let mvcc = try MVCCPutCommand.parse(["--total", "10", "--txn-ops", "3"])
        #expect(mvcc.total == 10 && mvcc.txnOps == 3 && mvcc.batchLimit == 10000)
    }
}

@Suite struct BenchTLSTests {
    /// TLS files that do not load stop the run before anything connects, naming them.
    @Test func missingFilesAreNamed() throws {
        let options = try ConnectionOptions.parse(["--endpoints", "https://127.0.0.1:1", "--cacert", "/nonexistent/ca.crt"])
        #expect(throws: BenchError.self) { try options.makeTLS() }
        do {
            _ = try options.makeTLS()
        } catch {
            #expect("\(error)".contains("/nonexistent/ca.crt"))
        }
        #expect(try ConnectionOptions.parse(["--endpoints", "127.0.0.1:1"]).makeTLS() == nil, "plaintext without TLS flags")
        #expect(throws: BenchError.self) { try ConnectionOptions.parse(["--cert", "c.crt"]).makeTLS() }
    }
}

@Suite struct EndpointTests {
    @Test func parsesForms() {
        #expect(Endpoint(parsing: "127.0.0.1:2379") == Endpoint(host: "127.0.0.1", port: 2379))
        #expect(Endpoint(parsing: "http://localhost:12/") == Endpoint(host: "localhost", port: 12))
        #expect(Endpoint(parsing: "[::1]:5") == Endpoint(host: "::1", port: 5))
        #expect(Endpoint(parsing: "https://a:1") == Endpoint(host: "a", port: 1, secure: true))
        #expect(Endpoint(parsing: "a") == nil)
        #expect(Endpoint(parsing: "a:0") == nil)
        #expect(Endpoint.parseList(" , ") == nil)
        #expect(Endpoint(host: "127.0.0.1", port: 1).isIPv4)
        #expect(!Endpoint(host: "localhost", port: 1).isIPv4)
    }
}

@Suite struct KeyGeneratorTests {
    @Test func sequentialKeysAreBigEndianSlots() throws {
        let keys = try KeyGenerator(keySize: 8, keySpaceSize: 1000, sequential: true)
        #expect(keys.key(forRequest: 0) == Data(repeating: 0, count: 8))
        #expect(keys.key(forRequest: 258) == Data([0, 0, 0, 0, 0, 0, 1, 2]))
        #expect(keys.key(forRequest: 1001) == keys.key(forRequest: 1))
        #expect(keys.key(forRequest: 999) != keys.key(forRequest: 998))
    }

    @Test func longAndShortKeys() throws {
        let long = try KeyGenerator(keySize: 12, keySpaceSize: 10, sequential: true)
        #expect(long.key(slot: 7) == Data([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]))
        let short = try KeyGenerator(keySize: 1, keySpaceSize: 256, sequential: true)
        #expect(short.key(slot: 255) == Data([255]))
        #expect(throws: BenchError.self) { try KeyGenerator(keySize: 1, keySpaceSize: 257, sequential: true) }
        #expect(throws: BenchError.self) { try KeyGenerator(keySize: 0, keySpaceSize: 1, sequential: true) }
    }

    @Test func randomKeysCoverTheSpaceReproducibly() throws {
        let keys = try KeyGenerator(keySize: 8, keySpaceSize: 16, sequential: false, seed: 42)
        let again = try KeyGenerator(keySize: 8, keySpaceSize: 16, sequential: false, seed: 42)
        let slots = (0..<2000).map { keys.slot(forRequest: $0) }
        #expect(slots == (0..<2000).map { again.slot(forRequest: $0) })
        #expect(Set(slots) == Set(0..<16))
        let counts = Dictionary(grouping: slots, by: { $0 }).mapValues(\.count)
        #expect(counts.values.allSatisfy { $0 > 60 && $0 < 200 })
    }

    @Test func keysOfOneTxnAreDistinct() throws {
        for sequential in [true, false] {
            let keys = try KeyGenerator(keySize: 8, keySpaceSize: 5, sequential: sequential, seed: 3)
            for request in 0..<200 {
                #expect(Set(keys.keys(forRequest: request, count: 5)).count == 5)
            }
        }
        let sequential = try KeyGenerator(keySize: 8, keySpaceSize: 100, sequential: true)
        #expect(sequential.keys(forRequest: 2, count: 3) == [6, 7, 8].map { sequential.key(slot: $0) })
    }

    @Test func readShareFollowsTheRatio() {
        let reads = (0..<10000).filter { TxnMixedCommand.isRead($0, rwRatio: 3, seed: 7) }.count
        #expect(reads > 7200 && reads < 7800)
        #expect(!(0..<100).contains { TxnMixedCommand.isRead($0, rwRatio: 0, seed: 7) })
    }

    @Test func prefixEnds() {
        #expect(prefixEnd(Data("abc".utf8)) == Data("abd".utf8))
        #expect(prefixEnd(Data([0x61, 0xff])) == Data([0x62]))
        #expect(prefixEnd(Data()) == Data([0]))
    }

    @Test func watchEventCounts() {
        // 10 puts over 3 keys: keys 0, 1, 2 get 4, 3, 3 puts.
        #expect(WatchCommand.expectedEvents(watcher: 0, watchedKeys: 3, puts: 10) == 4)
        #expect(WatchCommand.expectedEvents(watcher: 4, watchedKeys: 3, puts: 10) == 3)
        #expect(WatchCommand.expectedEvents(watcher: 5, watchedKeys: 3, puts: 10) == 3)
        #expect(WatchCommand.expectedEvents(watcher: 9, watchedKeys: 10, puts: 5) == 0)
    }
}

@Suite struct ReportTests {
    @Test func summaryFromSamples() {
        // 1 ms … 1000 ms, one sample each.
        let samples = (1...1000).map { UInt64($0) * 1_000_000 }
        let summary = LatencySummary(nanoseconds: samples)
        #expect(summary.count == 1000)
        #expect(abs(summary.avg - 500.5) < 0.5)
        #expect(abs(summary.p50 - 500) < 1)
        #expect(abs(summary.p90 - 900) < 1)
        #expect(abs(summary.p99 - 990) < 1)
        #expect(abs(summary.p999 - 999) < 1)
        #expect(summary.max == 1000)
        #expect(summary.min == 1)
        #expect(summary.buckets.reduce(0) { $0 + $1.count } == 1000)
        #expect(summary.buckets.last!.upperMs >= 1000)
    }

    @Test func emptySummary() {
        let summary = LatencySummary(nanoseconds: [UInt64]())
        #expect(summary.count == 0 && summary.max == 0 && summary.buckets.isEmpty)
    }

    func sample() -> BenchReport {
        BenchReport(
            benchmark: "put", parameters: ["clients": "2", "endpoints": "127.0.0.1:2379"], requests: 100, errors: 1,
            errorMessages: ["boom": 1], durationSeconds: 2,
            latency: LatencySummary(count: 100, avg: 1.5, min: 1, p50: 1.25, p90: 2, p99: 3, p999: 3.5, max: 4))
    }

    @Test func jsonIsOneSortedObject() throws {
        let json = sample().json()
        #expect(!json.contains("\n"))
        #expect(json.hasPrefix("{\"additional_latencies_ms\":{},\"benchmark\":\"put\""))
        #expect(json.contains("\"requests_per_second\":50"))
        #expect(json.contains("\"latency_ms\":{\"avg\":1.5,\"buckets\":[],\"count\":100,\"max\":4,\"min\":1,\"p50\":1.25"))
        #expect(json.contains("\"endpoints\":\"127.0.0.1:2379\""))
        let decoded = try JSONDecoder().decode(BenchReport.self, from: Data(json.utf8))
        #expect(decoded == sample())
    }

    @Test func humanReadable() {
        let text = sample().humanReadable()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "put: clients=2 endpoints=127.0.0.1:2379")
        #expect(lines[1] == "  requests     100 (1 errors)")
        #expect(lines[2] == "  total        2.0000 s")
        #expect(lines[3] == "  requests/s   50.0")
        #expect(
            lines[4]
                == "  latency (ms, 100 samples): avg 1.5000  p50 1.2500  p90 2.0000  p99 3.0000  p99.9 3.5000  max 4.0000")
        #expect(text.hasSuffix("    1× boom"))
    }

    @Test func chartHasBars() {
        let report = BenchReport(
            benchmark: "x", parameters: [:], requests: 3, errors: 0, durationSeconds: 1,
            latency: LatencySummary(nanoseconds: [1_000_000, 1_010_000, 5_000_000]))
        let bars = report.humanReadable().split(separator: "\n").filter { $0.contains("∎") }
        #expect(bars.count == 2)
    }
}

@Suite struct LoadRunnerTests {
    @Test func issuesEveryRequestOnce() async {
        let seen = Shared<[Int]>([])
        let result = await LoadRunner.run(clients: 7, total: 500, kinds: 2) { _, index in
            seen.withLock { $0.append(index) }
            if index % 10 == 0 { throw BenchError.failed("boom") }
            return index % 2
        }
        #expect(seen.withLock { $0.sorted() } == Array(0..<500))
        #expect(result.requestCount == 500)
        #expect(result.latenciesByKind[0].count == 250 && result.latenciesByKind[1].count == 250)
        #expect(result.errorCount == 50 && result.errorMessages == ["boom": 50])
        #expect(result.durationSeconds > 0)
    }

    @Test func stopsWhenDone() async {
        let count = SharedCounter()
        let result = await LoadRunner.run(clients: 3, total: .max, isDone: { count.current >= 100 }) { _, _ in
            count.add(1)
            return 0
        }
        #expect(result.requestCount >= 100 && result.requestCount < 110)
    }

    @Test func rateLimiterSpacesRequests() async {
        let start = monotonicNanoseconds()
        _ = await LoadRunner.run(clients: 4, total: 21, rate: RateLimiter(perSecond: 200)) { _, _ in 0 }
        // 21 requests at 200/s: the last one starts 100 ms after the first.
        #expect(monotonicNanoseconds() - start >= 95_000_000)
    }
}
