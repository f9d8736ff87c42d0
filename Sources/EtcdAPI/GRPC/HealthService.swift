import EtcdProto
import GRPCCore
import LeanGRPC

/// `grpc.health.v1.Health` on the client port, as etcd registers grpc-go's health server:
/// the whole server (service name "") is SERVING once clients are served (etcd turns it to
/// NOT_SERVING only while a defragmentation runs with its StopGRPCServiceOnDefrag gate,
/// which swetcd does not have); any other name is unknown.
enum HealthService {
    static func register(in routes: inout GRPCRoutes) {
        typealias Method = Grpc_Health_V1_Health.Method
        routes.unary(Method.Check.descriptor) { (request: Grpc_Health_V1_HealthCheckRequest) in
            guard request.service.isEmpty else { throw RPCError(code: .notFound, message: "unknown service") }
            return Grpc_Health_V1_HealthCheckResponse.with { $0.status = .serving }
        }
        routes.serverStreaming(Method.Watch.descriptor) {
            (request: Grpc_Health_V1_HealthCheckRequest, responses: GRPCResponseWriter<Grpc_Health_V1_HealthCheckResponse>) in
            try await responses.write(.with { $0.status = request.service.isEmpty ? .serving : .serviceUnknown })
            // The status never changes: the stream stays open until the client cancels it.
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
