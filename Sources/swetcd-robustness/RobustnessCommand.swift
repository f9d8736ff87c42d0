import ArgumentParser
import Foundation
import Robustness

@main
struct RobustnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swetcd-robustness",
        abstract: "Runs a 3- or 5-member cluster under faults and checks the clients' history for linearizability and the watch streams for order, gaps, duplicates and agreement.",
        subcommands: [Run.self, Check.self],
        defaultSubcommand: Run.self)
}

/// Exit statuses: 0 pass, 1 a violation (or a crash, divergence, failed restart), 2 the harness
/// itself could not run (bad arguments, cluster did not start).
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the cluster, workload and faults, then check (the default).")

    @Option(help: "Server: etcd (PATH or ETCD_BIN), swetcd (SWETCD_BIN or next to this executable), or a path.")
    var binary = "swetcd"

    @Option(help: "Cluster size (3 or 5).")
    var members = 3

    @Option(help: "Workload and fault time: seconds, or with a unit: 90s, 5m, 2h.")
    var duration = "60s"

    @Option(help: "Concurrent clients.")
    var clients = 6

    @Option(help: "Seed of every random choice (random if not given; printed).")
    var seed: UInt64?

    @Option(help: "Hot keys the clients share.")
    var keys = 4

    @Option(name: .customLong("history-out"), help: "Write the recorded history (JSON) here.")
    var historyOut: String?

    @Option(help: "Faults to inject, comma-separated, of kill,pause,move-leader,hostile-client,hostile-peer; 'none' for none.")
    var faults = "kill,pause,move-leader"

    @Option(help: "Requests per second per client (0: as fast as answers come).")
    var rate = 20.0

    @Option(name: .customLong("op-timeout"), help: "Deadline of each request, in seconds.")
    var operationTimeout = 3.0

    @Option(name: .customLong("check-timeout"), help: "Linearizability search budget per key, in seconds.")
    var checkTimeout = 120.0

    @Option(name: .customLong("server-arg"), parsing: .unconditionalSingleValue, help: "Extra flag for every member (repeatable), e.g. --server-arg=--snapshot-count=1000.")
    var serverArguments: [String] = []

    @Option(help: "Directory for data dirs and logs (default: a new temporary one).")
    var dir: String?

    @Flag(help: "Keep the data dirs, logs and history even if the run passes.")
    var keep = false

    func validate() throws {
        guard members == 3 || members == 5 || members == 1 else {
            throw ValidationError("--members must be 3 or 5 (1 for a smoke run)")
        }
        guard clients > 0, keys > 0 else { throw ValidationError("--clients and --keys must be positive") }
        _ = try parseDuration(duration)
        _ = try parseFaults(faults)
    }

    func run() async throws {
        let config = RobustnessConfig(
            binary: try RobustnessConfig.resolveBinary(binary), members: members,
            duration: try parseDuration(duration), clients: clients,
            seed: seed ?? UInt64.random(in: 1...UInt64(UInt32.max)), keys: keys,
            historyOut: historyOut.map { URL(fileURLWithPath: $0) }, directory: dir.map { URL(fileURLWithPath: $0) },
            faults: try parseFaults(faults), operationTimeout: .milliseconds(Int(operationTimeout * 1000)),
            rate: rate, checkTimeout: .milliseconds(Int(checkTimeout * 1000)), serverArguments: serverArguments,
            keepFiles: keep)
        let report: RobustnessReport
        do {
            report = try await RobustnessRun.run(config)
        } catch {
            print("harness error: \(error)")
            throw ExitCode(2)
        }
        print(report.text)
        if !report.passed { throw ExitCode(1) }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a history written by --history-out again.")

    @Argument(help: "The history file.")
    var file: String

    @Option(name: .customLong("check-timeout"), help: "Linearizability search budget per key, in seconds.")
    var checkTimeout = 120.0

    func run() async throws {
        let history = try RecordedHistory.read(from: URL(fileURLWithPath: file))
        let check = await HistoryCheck.run(history, timeout: .milliseconds(Int(checkTimeout * 1000)))
        print(check.text)
        if check.violation { throw ExitCode(1) }
    }
}

func parseDuration(_ text: String) throws -> Duration {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let number = Double(text.dropLast(suffix.count)), number > 0 {
            return .milliseconds(Int(number * scale * 1000))
        }
    }
    if let number = Double(text), number > 0 { return .milliseconds(Int(number * 1000)) }
    throw ValidationError("cannot read duration \(text); use e.g. 300, 90s, 5m")
}

func parseFaults(_ text: String) throws -> [FaultKind] {
    if text == "none" { return [] }
    return try text.split(separator: ",").map { name in
        guard let kind = FaultKind(rawValue: String(name)) else {
            throw ValidationError("unknown fault \(name); known: \(FaultKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return kind
    }
}
