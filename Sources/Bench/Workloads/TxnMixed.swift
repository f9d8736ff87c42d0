import ArgumentParser
import EtcdProto
import Foundation

/// `txn-mixed`: transactions of one operation each, a range read or a put, mixed at
/// `--rw-ratio` reads per write; read and write latencies are reported apart.
public struct TxnMixedCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(
        commandName: "txn-mixed", abstract: "Benchmark txns mixing range reads and puts.")

    @OptionGroup public var connection: ConnectionOptions
    @OptionGroup public var load: LoadOptions
    @OptionGroup public var keyValue: KeyValueOptions

    /// Reads per write.
    @Option(help: "Read/write ops ratio.")
    public var rwRatio: Double = 1

    /// Consistency of the reads.
    @Option(help: "Linearizable (l) or serializable (s) reads.")
    public var consistency: Consistency = .l

    /// Keys per read at most.
    @Option(help: "Read range result limit.")
    public var limit: Int64 = 1000

    /// Exclusive end of each read's range; empty reads every key (etcd's default).
    @Option(help: "Read range end key (default: all keys).")
    public var endKey: String = ""

    public init() {}

    public func validate() throws {
        guard rwRatio >= 0 else { throw ValidationError("--rw-ratio must not be negative") }
    }

    /// True when request `index` is a read; a hash of the index, so reads make up
    /// `rwRatio / (1 + rwRatio)` of the requests whatever the order they are taken in.
    public static func isRead(_ index: Int, rwRatio: Double, seed: UInt64) -> Bool {
        let generator = try! KeyGenerator(keySize: 8, keySpaceSize: 1 << 30, sequential: false, seed: seed)
        let unit = Double(generator.slot(forRequest: index)) / Double(1 << 30)
        return unit < rwRatio / (1 + rwRatio)
    }

    public func execute() async throws {
        let keys = try keyValue.keyGenerator()
        let value = randomBytes(keyValue.valSize)
        var read = Etcdserverpb_RequestOp()
        var range = Etcdserverpb_RangeRequest()
        range.key = Data([0])
        range.rangeEnd = endKey.isEmpty ? Data([0]) : Data(endKey.utf8)
        range.limit = limit
        range.serializable = consistency == .s
        read.requestRange = range
        var readTxn = Etcdserverpb_TxnRequest()
        readTxn.success = [read]
        let readRequest = readTxn
        let (rwRatio, seed) = (self.rwRatio, UInt64.random(in: 0...UInt64.max))
        let pool = try await connection.openPool()
        let result = await LoadRunner.run(
            clients: connection.clients, total: load.total, kinds: 2, rate: load.limiter
        ) { client, index in
            let kv = pool.connection(forClient: client)
            if Self.isRead(index, rwRatio: rwRatio, seed: seed) {
                _ = try await kv.txn(readRequest)
                return 0
            }
            var put = Etcdserverpb_PutRequest()
            put.key = keys.key(forRequest: index)
            put.value = value
            var op = Etcdserverpb_RequestOp()
            op.requestPut = put
            var txn = Etcdserverpb_TxnRequest()
            txn.success = [op]
            _ = try await kv.txn(txn)
            return 1
        }
        await pool.close()
        var parameters = connection.parameters.merging(load.parameters) { $1 }.merging(keyValue.parameters) { $1 }
        parameters["rw_ratio"] = String(rwRatio)
        parameters["consistency"] = consistency.rawValue
        parameters["limit"] = String(limit)
        let report = BenchReport(
            benchmark: "txn-mixed", parameters: parameters,
            requests: result.requestCount, errors: result.errorCount, errorMessages: result.errorMessages,
            durationSeconds: result.durationSeconds, latency: LatencySummary(nanoseconds: result.allLatencies),
            additionalLatencies: [
                "read": LatencySummary(nanoseconds: result.latenciesByKind[0]),
                "write": LatencySummary(nanoseconds: result.latenciesByKind[1]),
            ],
            counters: ["reads": Double(result.latenciesByKind[0].count), "writes": Double(result.latenciesByKind[1].count)])
        emit(report, json: connection.json)
    }
}
