import EtcdProto
import EtcdServer
import Foundation
import Logging

/// The HTTP endpoints etcd serves next to gRPC on its client port.
struct HTTPRouter: Sendable {
    let server: EtcdServer
    /// Renders every metric in Prometheus' text format, if metrics are collected.
    let metrics: (@Sendable () -> String)?
    /// Serve only `/metrics` and the health endpoints, as a `--listen-metrics-urls` listener does.
    var metricsOnly = false
    let healthChecks: HealthChecks

    init(server: EtcdServer, metrics: (@Sendable () -> String)?, logger: Logger) {
        self.server = server
        self.metrics = metrics
        healthChecks = HealthChecks(server: server, logger: logger)
    }

    func respond(to request: HTTPRequest) async -> HTTPReply {
        if let answer = await healthChecks.respond(to: request) { return .complete(answer) }
        if metricsOnly && request.path != "/metrics" && request.path != "/health" { return .complete(.notFound) }
        switch request.path {
        case "/health":
            return .complete(await healthChecks.health(request))
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
}
