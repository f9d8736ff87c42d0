import ArgumentParser
import EtcdProto
import Foundation

/// `put`: unary Put requests of `--key-size`/`--val-size` over a key space.
public struct PutCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(commandName: "put", abstract: "Benchmark put.")

    @OptionGroup public var connection: ConnectionOptions
    @OptionGroup public var load: LoadOptions
    @OptionGroup public var keyValue: KeyValueOptions

    public init() {}

    public func execute() async throws {
        let keys = try keyValue.keyGenerator()
        let value = randomBytes(keyValue.valSize)
        let pool = try await connection.openPool()
        let result = await LoadRunner.run(clients: connection.clients, total: load.total, rate: load.limiter) {
            client, index in
            var request = Etcdserverpb_PutRequest()
            request.key = keys.key(forRequest: index)
            request.value = value
            _ = try await pool.connection(forClient: client).put(request)
            return 0
        }
        await pool.close()
        let report = BenchReport(
            benchmark: "put",
            parameters: connection.parameters.merging(load.parameters) { $1 }.merging(keyValue.parameters) { $1 },
            requests: result.requestCount, errors: result.errorCount, errorMessages: result.errorMessages,
            durationSeconds: result.durationSeconds, latency: LatencySummary(nanoseconds: result.allLatencies))
        emit(report, json: connection.json)
    }
}
