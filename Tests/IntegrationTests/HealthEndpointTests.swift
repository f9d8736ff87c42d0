import Foundation
import HarnessSupport
import Testing
import TestLoad

/// etcd 3.6's `/health`, `/livez` and `/readyz` (`etcdhttp/health.go`, newer than Debian's
/// etcd 3.4, so checked against that file's rules): on a healthy member, and on a member
/// whose cluster lost its quorum (no leader: serializable reads work, linearizable ones don't).
@Suite(.serialized, .load(3, limit: .seconds(240))) struct HealthEndpointTests {
    @Test func probesFollowEtcd36() async throws {
        let cluster = try TestCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.start()
        _ = try await cluster.waitForLeader()
        let m1 = try #require(cluster.members.first { $0.name == "m1" })
        let get = { (path: String) in try Self.curl(["http://127.0.0.1:\(m1.clientPort)\(path)"]) }

        #expect(try get("/health") == Reply(200, #"{"health":"true","reason":""}"#))
        #expect(try get("/livez") == Reply(200, "ok\n"))
        #expect(try get("/livez?verbose") == Reply(200, "[+]serializable_read ok\nok\n"))
        #expect(
            try get("/readyz?verbose")
                == Reply(200, "[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok\n"))
        #expect(try get("/readyz/linearizable_read?verbose") == Reply(200, "[+]linearizable_read ok\nok\n"))
        #expect(try get("/readyz?exclude=linearizable_read&exclude=non_learner&verbose")
            == Reply(200, "[+]data_corruption ok\n[+]serializable_read ok\nok\n"))
        #expect(try get("/readyz?exclude=no_such_check") == Reply(200, "ok\n"))
        #expect(cluster.log("m1").contains("some health checks cannot be excluded"))
        #expect(try get("/readyz/no_such_check").code == 404)
        #expect(try Self.curl(["-X", "POST", "http://127.0.0.1:\(m1.clientPort)/livez"]) == Reply(405, "Method Not Allowed\n"))
        let metrics = try get("/metrics").body.split(separator: "\n")
        for series in ["etcd_server_healthcheck{", "etcd_server_healthchecks_total{", "etcd_server_health_success "] {
            #expect(metrics.contains { $0.hasPrefix(series) }, "/metrics has \(series)")
        }
        #expect(metrics.contains { $0.hasPrefix("etcd_server_healthchecks_total{") && $0.contains("name=\"linearizable_read\"") })
        // The process series Go's Prometheus client exports, with values a live process has.
        let value = { (name: String) in
            metrics.first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        #expect((value("process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((value("process_virtual_memory_bytes") ?? 0) > (value("process_resident_memory_bytes") ?? 0))
        #expect((value("process_open_fds") ?? 0) > 3)
        #expect((value("process_max_fds") ?? 0) >= (value("process_open_fds") ?? .infinity))
        #expect((value("process_cpu_seconds_total") ?? 0) > 0)
        let started = value("process_start_time_seconds") ?? 0
        #expect(abs(started - Date().timeIntervalSince1970) < 600, "started \(started)")
        #expect(value("etcd_server_is_learner") == 0)
        #expect(metrics.contains { $0.hasPrefix("etcd_server_id{server_id=\"") && Double($0.split(separator: " ").last ?? "") == 1 })

        // The other two members go: m1 has no leader and no quorum.
        cluster.kill("m2")
        cluster.kill("m3")
        // Until m1 notices (an election timeout), it may still name a leader whose reads fail.
        let leaderless = Reply(503, #"{"health":"false","reason":"RAFT NO LEADER"}"# + "\n")
        var health = try get("/health")
        for _ in 0..<150 where health != leaderless {
            try await Task.sleep(for: .milliseconds(100))
            health = try get("/health")
        }
        #expect(health == leaderless)
        #expect(try get("/health?serializable=true") == Reply(200, #"{"health":"true","reason":""}"#))
        #expect(try get("/livez") == Reply(200, "ok\n"), "a serializable read needs no leader")
        let ready = try get("/readyz")
        #expect(ready.code == 503)
        #expect(ready.body.hasPrefix("[+]data_corruption ok\n[+]serializable_read ok\n[-]linearizable_read failed: "), "\(ready.body)")
        #expect(ready.body.hasSuffix("[+]non_learner ok\n\n"))
        #expect(try get("/readyz?exclude=linearizable_read") == Reply(200, "ok\n"))
    }

    struct Reply: Equatable, CustomStringConvertible {
        let code: Int
        let body: String
        init(_ code: Int, _ body: String) {
            self.code = code
            self.body = body
        }
        var description: String { "\(code) \(body.debugDescription)" }
    }

    /// curl with `arguments`; the status code and the body.
    static func curl(_ arguments: [String]) throws -> Reply {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("curl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let output = try Child(
            executable: try Binaries.fromPath("curl", override: "CURL_BIN"),
            arguments: ["-s", "-m", "30", "-o", out.path, "-w", "%{http_code}"] + arguments,
            environment: Binaries.cleanEnvironment(), stdin: nil,
            stdoutURL: out.appendingPathExtension("code"), stderrURL: out.appendingPathExtension("err")
        ).finishOrThrow(timeout: 60)
        defer { try? FileManager.default.removeItem(at: out.appendingPathExtension("code")) }
        return Reply(Int(String(decoding: output.stdout, as: UTF8.self)) ?? -1, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }
}
