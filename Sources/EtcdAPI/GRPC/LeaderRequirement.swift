import EtcdServer
import GRPCCore

/// etcd's `hasleader` metadata: a client that sets it (clientv3's WithRequireLeader) wants
/// the call refused with `etcdserver: no leader` while this member knows no leader, rather
/// than waiting for a time-out.
struct LeaderRequirement: ServerInterceptor {
    let server: EtcdServer

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if request.metadata[stringValues: "hasleader"].contains(where: { $0 == "true" }) && server.leader == 0 {
            throw RPCError(EtcdError.noLeader)
        }
        return try await next(request, context)
    }
}
