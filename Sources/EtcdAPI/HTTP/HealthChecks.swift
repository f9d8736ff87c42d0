import Metrics
import EtcdProto
import EtcdServer
import Foundation
import Logging

/// etcd 3.6's health endpoints: `/health` (alarms, leader, a read; JSON) and the probes
/// Kubernetes uses, `/livez` (a serializable read) and `/readyz` (no CORRUPT alarm, a
/// serializable and a linearizable read, not a learner), each check also on its own path
/// (`/readyz/linearizable_read`), with `?exclude=` and `?verbose`.
struct HealthChecks: Sendable {
    let server: EtcdServer
    let logger: Logger

    /// A named check: nil when it passes, else why it failed.
    typealias Check = @Sendable (EtcdServer) async -> String?

    static let livez: [(name: String, check: Check)] = [("serializable_read", { await read($0, serializable: true) })]
    static let readyz: [(name: String, check: Check)] = [
        // swetcd raises no CORRUPT alarm yet (corruption checks come with the data lifecycle).
        ("data_corruption", { _ in nil }),
        ("serializable_read", { await read($0, serializable: true) }),
        ("linearizable_read", { await read($0, serializable: false) }),
        ("non_learner", { $0.membership.member($0.memberID)?.isLearner == true ? "not supported for learner" : nil }),
    ]

    /// The answer for `path`, or nil when it is not a health path.
    func respond(to request: HTTPRequest) async -> HTTPResponse? {
        let path = String(request.path)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0].isEmpty else { return nil }
        let kind = String(parts[1])
        guard let registry = kind == "livez" ? Self.livez : kind == "readyz" ? Self.readyz : nil else { return nil }
        var selected = registry
        let query = Query(request.head.uri)
        if parts.count == 3 {
            guard let check = registry.first(where: { $0.name == parts[2] }) else { return nil }
            selected = [check]
        } else {
            let excluded = Set(query.values("exclude").filter { !$0.isEmpty })
            selected = registry.filter { !excluded.contains($0.name) }
            let unknown = excluded.subtracting(registry.map(\.name))
            if !unknown.isEmpty {
                logger.warning(
                    "some health checks cannot be excluded",
                    metadata: ["missing-health-checks": "\(unknown.sorted().map { "\"\($0)\"" }.joined(separator: ","))"])
            }
        }
        guard request.head.method == .GET else { return .methodNotAllowed(allow: "GET") }
        var report = ""
        var failed = false
        for (name, check) in selected {
            let failure = await check(server)
            report += failure.map { "[-]\(name) failed: \($0)\n" } ?? "[+]\(name) ok\n"
            failed = failed || failure != nil
            Gauge(label: "etcd_server_healthcheck", dimensions: [("type", kind), ("name", name)]).record(failure == nil ? 1 : 0)
            Counter(label: "etcd_server_healthchecks_total", dimensions: [("type", kind), ("name", name), ("status", failure == nil ? "success" : "error")])
                .increment()
        }
        if failed {
            logger.error("Health check error", metadata: ["path": "\(path)", "reason": "\(report)", "status-code": "503"])
            return .goError(report + "\n", status: .serviceUnavailable)
        }
        var ok = HTTPResponse.text((query.has("verbose") ? report : "") + "ok\n")
        ok.headers.add(name: "X-Content-Type-Options", value: "nosniff")
        return ok
    }

    /// `/health`: unhealthy with no leader (unless `?serializable=true`) or when a read
    /// fails; `?exclude=` names alarms to ignore (swetcd raises none yet).
    func health(_ request: HTTPRequest) async -> HTTPResponse {
        guard request.head.method == .GET else { return .methodNotAllowed(allow: "GET") }
        let serializable = Query(request.head.uri).values("serializable").first == "true"
        var reason = ""
        if !serializable && server.leader == 0 {
            reason = "RAFT NO LEADER"
        } else if let failure = await Self.read(server, serializable: serializable) {
            reason = "RANGE ERROR:\(failure)"
        }
        let body = #"{"health":"\#(reason.isEmpty)","reason":"\#(reason)"}"#
        Counter(label: reason.isEmpty ? "etcd_server_health_success" : "etcd_server_health_failures").increment()
        guard reason.isEmpty else {
            logger.warning("/health error", metadata: ["output": "\(body)", "status-code": "503"])
            return .goError(body + "\n", status: .serviceUnavailable)
        }
        return .text(body)
    }

    /// A keys-only read of at most one key, as etcd's health checks make; nil when it worked.
    static func read(_ server: EtcdServer, serializable: Bool) async -> String? {
        var probe = Etcdserverpb_RangeRequest()
        probe.key = Data([0])
        probe.rangeEnd = Data([0])
        probe.keysOnly = true
        probe.limit = 1
        probe.serializable = serializable
        do {
            _ = try await server.range(probe)
            return nil
        } catch {
            return error.message
        }
    }
}

/// The query string of a request URI, decoded as Go's `url.Query()` does for these names.
struct Query {
    private let pairs: [(String, String)]

    init(_ uri: String) {
        guard let mark = uri.firstIndex(of: "?") else {
            pairs = []
            return
        }
        pairs = uri[uri.index(after: mark)...].split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in (String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)) }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    func values(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }
    func has(_ name: String) -> Bool { pairs.contains { $0.0 == name } }
}
