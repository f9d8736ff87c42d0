import Foundation
import Testing
import TestLoad

/// The gRPC-level differential test: the same requests, through the generated clients, to a
/// fresh real etcd and a fresh swetcd (same flags; `--max-request-bytes 100000` so that watch
/// fragmenting and the request-size limit are reached with small data). The scenario runs
/// against etcd, then against swetcd. Every response is rendered as protobuf text format
/// (errors as gRPC code and message) and compared; only member-local values are normalised:
/// server-chosen lease IDs, the version and db sizes in Status, the client port in member
/// URLs, and orders etcd leaves to Go maps (lease lists, a lease's keys, how the responses of
/// different watches of one stream interleave). Streams (Watch, LeaseKeepAlive) are compared
/// at each step: etcd's run records how many responses a step gave (waiting until quiet),
/// swetcd's run waits for as many, plus a grace time for extra ones. Status (with its raft
/// index) is compared after every section, so a request that goes through the log on one
/// server only shows up near where it happened.
///
/// The scenario runs once (its sections build on each other's keys, leases and revisions);
/// each test compares the calls of one service, told by the response type, so a failure names
/// the service. Needs etcd on PATH (or `ETCD_BIN`): without it every test fails with the
/// install hint.
///
/// `SWETCD_BIN=$(which etcd)` checks the harness (etcd against etcd); `GRPCDIFF_EXTRA_ARGS`
/// adds server flags to both; `DIFFTEST_KEEP=1` keeps both data dirs and logs.
@Suite("gRPC calls match etcd's", .serialized, .load(4))
struct GRPCDifferentialTests {
    @Test func kv() async throws { try await Self.expectIdentical(.kv) }
    @Test func watch() async throws { try await Self.expectIdentical(.watch) }
    @Test func lease() async throws { try await Self.expectIdentical(.lease) }
    @Test func cluster() async throws { try await Self.expectIdentical(.cluster) }
    @Test func maintenance() async throws { try await Self.expectIdentical(.maintenance) }
    @Test func lock() async throws { try await Self.expectIdentical(.lock) }
    @Test func election() async throws { try await Self.expectIdentical(.election) }

    @Test func theScenarioRanThrough() async throws {
        let run = try await GRPCDifferentialRun.shared.value
        for failure in run.serverFailures { Issue.record(Comment(rawValue: failure)) }
        #expect(run.transcripts.map(\.entries.count).max() ?? 0 > 150)
        let unknown = run.transcripts.flatMap(\.entries).filter { $0.service == .unknown }.map(\.label)
        #expect(unknown.isEmpty, "calls of no known service: \(unknown)")
    }

    private static func expectIdentical(_ service: GRPCService) async throws {
        let run = try await GRPCDifferentialRun.shared.value
        let name = "grpc differential \(service.rawValue)"
        let (identical, total) = run.transcripts[0].compare(with: run.transcripts[1], name: name, service: service)
        print("\(name): \(identical)/\(total) calls identical")
        #expect(total > 0, "no \(service.rawValue) calls in the scenario")
        #expect(identical == total, "\(total - identical) of \(total) \(service.rawValue) calls differ from etcd")
    }
}

/// Both servers' transcripts, made once for all the tests of the suite.
struct GRPCDifferentialRun: Sendable {
    /// Small enough that fragmenting (at this plus etcd's 512 KiB gRPC allowance) and the
    /// request-size limit are reached with small data.
    static let maxRequestBytes = 100_000
    static let shared = Task { try await GRPCDifferentialRun() }

    /// etcd's, then swetcd's.
    let transcripts: [Transcript]
    /// A server that exited during its scenario, with its log's end.
    let serverFailures: [String]

    private init() async throws {
        let extra = (ProcessInfo.processInfo.environment["GRPCDIFF_EXTRA_ARGS"] ?? "").split(separator: " ").map(String.init)
        let pair = try ServerPair.start("grpcdiff", extraArguments: ["--max-request-bytes", "\(Self.maxRequestBytes)"] + extra)
        defer { pair.close() }
        let start = Date()
        var transcripts: [Transcript] = []
        var failures: [String] = []
        for server in pair.servers {
            let transcript = Transcript(reference: transcripts.first)
            let scenario = try Scenario(t: transcript, clientPort: server.clientPort)
            try await scenario.waitUntilServing()
            try await scenario.run()
            await scenario.c.close()
            transcripts.append(transcript)
            if !server.isRunning { failures.append("\(server.role) exited during the scenario:\n\(server.logTail())") }
        }
        let (etcd, swetcd) = (transcripts[0].entries, transcripts[1].entries)
        let identical = zip(etcd, swetcd).filter { $0.label == $1.label && $0.text == $1.text }.count
        let total = max(etcd.count, swetcd.count)
        print(String(format: "grpc differential: %d/%d calls identical (%.1f s)", identical, total, Date().timeIntervalSince(start)))
        if identical != total {
            for server in pair.servers { print("grpc differential: \(server.role) log ends:\n\(server.logTail(10))") }
        }
        self.transcripts = transcripts
        serverFailures = failures
    }
}
