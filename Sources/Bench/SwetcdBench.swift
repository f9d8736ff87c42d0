import ArgumentParser

/// The `swetcd-bench` command: a load generator for any etcd-compatible endpoints, in the
/// spirit of etcd's tools/benchmark.
public struct SwetcdBench: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "swetcd-bench",
        abstract: "A low-level benchmark for etcd-compatible servers (raw gRPC, no client library).",
        discussion: """
            Every networked benchmark opens --conns HTTP/2 connections (round-robin over
            --endpoints) shared round-robin by --clients concurrent clients, and reports
            requests/s and an HdrHistogram of latencies (--json for one JSON object).
            """,
        subcommands: [
            PutCommand.self, RangeCommand.self, TxnPutCommand.self, TxnMixedCommand.self, WatchCommand.self,
            WatchGetCommand.self, LeaseKeepAliveCommand.self, MVCCPutCommand.self, WaitGetCommand.self, ConnectCommand.self,
        ]
    )

    public init() {}
}

/// A benchmark subcommand. `execute()` does the work; `run()` forwards to it.
public protocol BenchmarkCommand: AsyncParsableCommand {
    /// Runs the benchmark and prints its report.
    func execute() async throws
}

extension BenchmarkCommand {
    public func run() async throws { try await execute() }
}

extension SwetcdBench {
    /// Parses `arguments` (the process's own when nil), runs the benchmark chosen and exits
    /// with ArgumentParser's conventions on errors. Calls `execute()` directly: from a
    /// `main.swift`, `main()` resolves to ArgumentParser's synchronous entry point, which
    /// never calls an async `run()`.
    public static func runFromCommandLine(_ arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
            if let benchmark = command as? any BenchmarkCommand {
                try await benchmark.execute()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
