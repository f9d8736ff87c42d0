import ArgumentParser
import EtcdProto
import Foundation

/// `wait-get`: polls a get until a server answers it, and reports how long that took,
/// counted from `--since-unix-ns` (e.g. the moment a script started the server) or from
/// its own start. `bench/compare.sh` uses it to time restarts.
public struct WaitGetCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(
        commandName: "wait-get", abstract: "Poll a get until it is answered; report the time it took.")

    @OptionGroup public var connection: ConnectionOptions

    /// Key to get.
    @Option(help: "Key to get.")
    public var key: String = "swetcd-bench-wait"

    /// Consistency of the get.
    @Option(help: "Linearizable (l) or serializable (s).")
    public var consistency: Consistency = .l

    /// Wall-clock start (Unix nanoseconds) to measure from.
    @Option(help: "Measure from this Unix time in nanoseconds (default: now).")
    public var sinceUnixNs: Int64?

    /// Give up after this many seconds.
    @Option(help: "Give up after this many seconds.")
    public var timeout: Double = 300

    /// Milliseconds between attempts.
    @Option(help: "Milliseconds between attempts.")
    public var interval: Int = 5

    public init() {}

    static func unixNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    public func execute() async throws {
        let since = sinceUnixNs ?? Self.unixNanoseconds()
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key.utf8)
        request.serializable = consistency == .s
        let tls = try connection.makeTLS()
        var attempts = 0
        var lastError = ""
        while true {
            attempts += 1
            do {
                // A fresh connection each time: a refused dial is retried here, at our pace.
                let connection = try await BenchConnection(
                    endpoint: self.connection.endpointList[0], transport: self.connection.transport, tls: tls)
                do {
                    _ = try await connection.range(request)
                    await connection.close()
                    break
                } catch {
                    await connection.close()
                    throw error
                }
            } catch {
                lastError = String(describing: error)
            }
            if Double(Self.unixNanoseconds() - since) / 1e9 > timeout {
                throw BenchError.failed("no answer within \(timeout) s after \(attempts) attempts: \(lastError)")
            }
            try await Task.sleep(for: .milliseconds(interval))
        }
        let elapsed = Double(Self.unixNanoseconds() - since) / 1e9
        let report = BenchReport(
            benchmark: "wait-get", parameters: connection.parameters.merging(["key": key]) { $1 },
            requests: 1, errors: attempts - 1, durationSeconds: elapsed,
            latency: LatencySummary(nanoseconds: [UInt64(elapsed * 1e9)]), counters: ["attempts": Double(attempts)])
        emit(report, json: connection.json)
    }
}
