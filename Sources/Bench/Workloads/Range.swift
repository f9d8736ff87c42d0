import ArgumentParser
import struct EtcdClient.EtcdBytes
import EtcdProto
import Foundation

/// `range`: unary Range requests for one key, a key range or a prefix.
public struct RangeCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(
        commandName: "range", abstract: "Benchmark range (a key, [key, end) or a prefix).")

    @OptionGroup public var connection: ConnectionOptions
    @OptionGroup public var load: LoadOptions

    /// The key (or first key) to read.
    @Argument(help: "Key to read.")
    public var key: String

    /// Optional exclusive end of the range.
    @Argument(help: "Optional range end (exclusive).")
    public var end: String?

    /// Read every key with prefix `key`.
    @Flag(help: "Read all keys with the given prefix.")
    public var prefix = false

    /// `l`inearizable or `s`erializable.
    @Option(help: "Linearizable (l) or serializable (s).")
    public var consistency: Consistency = .l

    /// Maximum keys returned per request; 0 is no limit.
    @Option(help: "Maximum keys per response (0 is no limit).")
    public var limit: Int64 = 0

    /// Ask for the count only, not the keys.
    @Flag(help: "Only get the count of keys.")
    public var countOnly = false

    public init() {}

    public func validate() throws {
        if prefix && end != nil { throw ValidationError("give either --prefix or a range end, not both") }
    }

    /// The request every client sends.
    public func request() -> Etcdserverpb_RangeRequest {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key.utf8)
        if prefix && key.isEmpty {
            // Every key, as etcdctl's `get "" --prefix` asks for it.
            request.key = Data([0])
            request.rangeEnd = Data([0])
        } else if prefix {
            request.rangeEnd = prefixEnd(request.key)
        } else if let end {
            request.rangeEnd = Data(end.utf8)
        }
        request.serializable = consistency == .s
        request.limit = limit
        request.countOnly = countOnly
        return request
    }

    public func execute() async throws {
        let request = self.request()
        let pool = try await connection.openPool()
        let result = await LoadRunner.run(clients: connection.clients, total: load.total, rate: load.limiter) {
            client, _ in
            _ = try await pool.connection(forClient: client).range(request)
            return 0
        }
        await pool.close()
        var parameters = connection.parameters.merging(load.parameters) { $1 }
        parameters["consistency"] = consistency.rawValue
        parameters["key"] = key
        if prefix { parameters["prefix"] = "true" }
        if countOnly { parameters["count_only"] = "true" }
        if limit > 0 { parameters["limit"] = String(limit) }
        if let end { parameters["end"] = end }
        let report = BenchReport(
            benchmark: "range", parameters: parameters,
            requests: result.requestCount, errors: result.errorCount, errorMessages: result.errorMessages,
            durationSeconds: result.durationSeconds, latency: LatencySummary(nanoseconds: result.allLatencies))
        emit(report, json: connection.json)
    }
}

/// The end of the range holding every key starting with `prefix` (etcd's prefix rule).
public func prefixEnd(_ prefix: Data) -> Data { EtcdBytes(prefix).prefixRangeEnd.data }
