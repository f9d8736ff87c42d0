import EtcdProto
import EtcdServer
import GRPCCore

/// `etcdserverpb.Lease`: grant, revoke, keep-alive, time-to-live and listing.
struct LeaseService: Etcdserverpb_Lease.SimpleServiceProtocol {
    let server: EtcdServer

    func leaseGrant(request: Etcdserverpb_LeaseGrantRequest, context: ServerContext) async throws -> Etcdserverpb_LeaseGrantResponse {
        try await rpc { () async throws(EtcdError) in try await server.leaseGrant(request) }
    }

    func leaseRevoke(request: Etcdserverpb_LeaseRevokeRequest, context: ServerContext) async throws -> Etcdserverpb_LeaseRevokeResponse {
        try await rpc { () async throws(EtcdError) in try await server.leaseRevoke(request) }
    }

    func leaseKeepAlive(
        request: RPCAsyncSequence<Etcdserverpb_LeaseKeepAliveRequest, any Error>,
        response: RPCWriter<Etcdserverpb_LeaseKeepAliveResponse>,
        context: ServerContext
    ) async throws {
        for try await keepAlive in request {
            let answer = try await rpc { () async throws(EtcdError) in try await server.leaseKeepAlive(keepAlive.id) }
            try await response.write(answer)
        }
    }

    func leaseTimeToLive(request: Etcdserverpb_LeaseTimeToLiveRequest, context: ServerContext) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        try await rpc { () async throws(EtcdError) in try await server.leaseTimeToLiveFromLeader(request) }
    }

    func leaseLeases(request: Etcdserverpb_LeaseLeasesRequest, context: ServerContext) async throws -> Etcdserverpb_LeaseLeasesResponse {
        server.leaseLeases()
    }
}
