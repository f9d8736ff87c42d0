import ArgumentParser
import Foundation
import MVCC
import Storage

/// `mvcc-put`: puts straight into the MVCC store on an SQLite backend, in-process: no
/// network, no Raft, no WAL. Commits the backend every `--batch-limit` write transactions
/// or `--batch-interval` milliseconds, like etcd's backend batching.
public struct MVCCPutCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mvcc-put", abstract: "Benchmark puts into the MVCC store and its backend (in-process).")

    /// Write transactions in all.
    @Option(help: "Total number of write transactions.")
    public var total: Int = 100000

    /// Bytes per key (random keys).
    @Option(help: "Key size in bytes.")
    public var keySize: Int = 64

    /// Bytes per value.
    @Option(help: "Value size in bytes.")
    public var valSize: Int = 64

    /// Puts per write transaction.
    @Option(help: "Puts per write transaction.")
    public var txnOps: Int = 1

    /// Milliseconds between backend commits at most.
    @Option(help: "Backend commit interval in milliseconds.")
    public var batchInterval: Int = 100

    /// Write transactions per backend commit at most.
    @Option(help: "Write transactions per backend commit at most.")
    public var batchLimit: Int = 10000

    /// Where the database goes (a fresh temporary directory by default, removed after).
    @Option(help: "Directory for the database (default: a temporary one, removed afterwards).")
    public var dataDir: String?

    /// Print one JSON object.
    @Flag(help: "Print the report as one JSON object.")
    public var json = false

    public init() {}

    public func validate() throws {
        guard total > 0, keySize > 0, valSize >= 0, txnOps > 0, batchInterval > 0, batchLimit > 0 else {
            throw ValidationError("sizes, counts and batch settings must be positive")
        }
    }

    public func execute() async throws {
        let directory = dataDir ?? NSTemporaryDirectory() + "swetcd-mvcc-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if dataDir == nil { try? FileManager.default.removeItem(atPath: directory) } }

        let puts = total * txnOps
        // Keys and values are made before the clock starts, as etcd's tool does.
        let keys = (0..<puts).map { _ in randomBytes(keySize) }
        let values = (0..<puts).map { _ in randomBytes(valSize) }

        let backend = try Backend(path: directory + "/db")
        let store = try KVStore(backend: backend)
        var latencies = [UInt64]()
        latencies.reserveCapacity(total)
        let interval = UInt64(batchInterval) * 1_000_000
        var lastCommit = monotonicNanoseconds()
        var sinceCommit = 0
        let start = monotonicNanoseconds()
        for transaction in 0..<total {
            let begin = monotonicNanoseconds()
            let txn = store.write()
            for op in 0..<txnOps {
                let index = transaction * txnOps + op
                try txn.put(key: keys[index], value: values[index], lease: 0)
            }
            txn.end()
            sinceCommit += 1
            if sinceCommit >= batchLimit || begin - lastCommit >= interval {
                try store.commit()
                sinceCommit = 0
                lastCommit = monotonicNanoseconds()
            }
            latencies.append(monotonicNanoseconds() - begin)
        }
        try store.commit()
        let end = monotonicNanoseconds()
        store.close()
        try backend.close()

        let report = BenchReport(
            benchmark: "mvcc-put",
            parameters: [
                "total": String(total), "key_size": String(keySize), "val_size": String(valSize),
                "txn_ops": String(txnOps), "batch_interval_ms": String(batchInterval), "batch_limit": String(batchLimit),
            ],
            requests: total, errors: 0, durationSeconds: Double(end - start) / 1e9,
            latency: LatencySummary(nanoseconds: latencies),
            counters: ["puts_per_second": Double(puts) / (Double(end - start) / 1e9)])
        print(json ? report.json() : report.humanReadable())
    }
}
