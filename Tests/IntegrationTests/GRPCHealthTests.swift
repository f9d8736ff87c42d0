import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import HarnessSupport
import Testing
import TestLoad

/// `grpc.health.v1.Health`, called as grpc_health_probe calls it, against the real etcd and
/// against swetcd: the same answers for the whole server, an unknown service, and a watch.
@Suite(.serialized, .load(2, limit: .seconds(120))) struct GRPCHealthTests {
    @Test func healthServiceAnswersAsEtcds() async throws {
        var transcripts: [[String]] = []
        for (role, binary) in [("etcd", try Binaries.fromPath("etcd", override: "ETCD_BIN")), ("swetcd", try Binaries.swetcd())] {
            let ports = try Ports.free(2)
            let server = ServerProcess(
                role: role, binary: binary,
                directory: FileManager.default.temporaryDirectory.appendingPathComponent("grpc-health-\(role)-\(UUID().uuidString.prefix(8))"),
                clientPort: ports[0], peerPort: ports[1])
            try server.start()
            defer {
                server.stop()
                try? FileManager.default.removeItem(at: server.directory)
            }
            try server.waitForLogMilestones(deadline: Date().addingTimeInterval(60))
            transcripts.append(try await Self.calls(port: server.clientPort))
        }
        #expect(transcripts[0] == transcripts[1])
        #expect(transcripts[1].first == "check '': serving")
    }

    /// Check for the server and for an unknown service, and the first answer of a watch.
    static func calls(port: Int) async throws -> [String] {
        let client = GRPCClient(
            transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
        let running = Task { try await client.runConnections() }
        defer {
            client.beginGracefulShutdown()
            running.cancel()
        }
        let health = Grpc_Health_V1_Health.Client(wrapping: client)
        var transcript: [String] = []
        let whole = try await health.check(.with { $0.service = "" }, options: .timeout(seconds: 5))
        transcript.append("check '': \(whole.status)")
        do {
            let unknown = try await health.check(.with { $0.service = "etcdserverpb.KV" }, options: .timeout(seconds: 5))
            transcript.append("check etcdserverpb.KV: \(unknown.status)")
        } catch let error as RPCError {
            transcript.append("check etcdserverpb.KV: \(error.code) \(error.message)")
        }
        for service in ["", "etcdserverpb.KV"] {
            let first = try await health.watch(.with { $0.service = service }, options: .timeout(seconds: 5)) { response in
                var iterator = response.messages.makeAsyncIterator()
                return try await iterator.next()?.status
            }
            transcript.append("watch '\(service)': first \(first.map { "\($0)" } ?? "nothing")")
        }
        return transcript
    }
}
