import ArgumentParser
import EtcdProto
import Foundation

/// `txn-put`: unconditional transactions of `--txn-ops` puts each.
public struct TxnPutCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(commandName: "txn-put", abstract: "Benchmark txn-put.")

    @OptionGroup public var connection: ConnectionOptions
    @OptionGroup public var load: LoadOptions
    @OptionGroup public var keyValue: KeyValueOptions

    /// Puts per transaction.
    @Option(help: "Number of puts per txn.")
    public var txnOps: Int = 1

    public init() {}

    public func validate() throws {
        guard txnOps > 0 else { throw ValidationError("--txn-ops must be positive") }
        guard txnOps <= keyValue.keySpaceSize else {
            throw ValidationError("--txn-ops must not exceed --key-space-size (a txn may not put one key twice)")
        }
    }

    public func execute() async throws {
        let keys = try keyValue.keyGenerator()
        let value = randomBytes(keyValue.valSize)
        let txnOps = self.txnOps
        let pool = try await connection.openPool()
        let result = await LoadRunner.run(clients: connection.clients, total: load.total, rate: load.limiter) {
            client, index in
            var request = Etcdserverpb_TxnRequest()
            request.success.reserveCapacity(txnOps)
            for key in keys.keys(forRequest: index, count: txnOps) {
                var put = Etcdserverpb_PutRequest()
                put.key = key
                put.value = value
                var requestOp = Etcdserverpb_RequestOp()
                requestOp.requestPut = put
                request.success.append(requestOp)
            }
            _ = try await pool.connection(forClient: client).txn(request)
            return 0
        }
        await pool.close()
        var parameters = connection.parameters.merging(load.parameters) { $1 }.merging(keyValue.parameters) { $1 }
        parameters["txn_ops"] = String(txnOps)
        let report = BenchReport(
            benchmark: "txn-put", parameters: parameters,
            requests: result.requestCount, errors: result.errorCount, errorMessages: result.errorMessages,
            durationSeconds: result.durationSeconds, latency: LatencySummary(nanoseconds: result.allLatencies))
        emit(report, json: connection.json)
    }
}
