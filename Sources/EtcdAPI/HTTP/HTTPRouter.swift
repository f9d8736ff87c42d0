import EtcdProto
import EtcdServer
import Foundation

/// The HTTP endpoints etcd serves next to gRPC on its client port.
struct HTTPRouter: Sendable {
    let server: EtcdServer
    /// Renders every metric in Prometheus' text format, if metrics are collected.
    let metrics: (@Sendable () -> String)?
    /// Serve only `/metrics` and `/health`, as a `--listen-metrics-urls` listener does.
    var metricsOnly = false

    init(server: EtcdServer, metrics: (@Sendable () -> String)?) {
        self.server = server
        self.metrics = metrics
    }

    func respond(to request: HTTPRequest) async -> HTTPReply {
        if metricsOnly && request.path != "/metrics" && request.path != "/health" { return .complete(.notFound) }
        switch request.path {
        case "/health":
            guard request.head.method == .GET else { return .complete(.methodNotAllowed(allow: "GET")) }
            return .complete(await health())
        case "/metrics":
            guard request.head.method == .GET else { return .complete(.methodNotAllowed(allow: "GET")) }
            guard let metrics else { return .complete(.notFound) }
            server.refreshMetrics()
            return .complete(HTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics()))
        case "/version":
            guard request.head.method == .GET else { return .complete(.methodNotAllowed(allow: "GET")) }
            return .complete(.json(#"{"etcdserver":"\#(ServerVersion.server)","etcdcluster":"\#(server.membership.version ?? "not_decided")"}"#))
        default:
            if let answer = await Gateway(server: server).respond(to: request) { return answer }
            return .complete(request.path.hasPrefix("/v3/") ? .gatewayNotFound : .notFound)
        }
    }

    /// etcd 3.5's /health: healthy when a linearizable read of the key "health" succeeds.
    private func health() async -> HTTPResponse {
        var probe = Etcdserverpb_RangeRequest()
        probe.key = Data("health".utf8)
        do {
            _ = try await server.range(probe)
            return .text(#"{"health":"true","reason":""}"#)
        } catch {
            return .text(#"{"health":"false","reason":"QGET ERROR:\#(error.message)"}"#, status: .serviceUnavailable)
        }
    }
}
