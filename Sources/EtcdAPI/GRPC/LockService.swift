import EtcdProto
import EtcdServer
import GRPCCore

/// `v3lockpb.Lock`: distributed locks held by a lease.
struct LockService: V3lockpb_Lock.SimpleServiceProtocol {
    let server: EtcdServer

    func lock(request: V3lockpb_LockRequest, context: ServerContext) async throws -> V3lockpb_LockResponse {
        try await rpc { () async throws(EtcdError) in try await server.lock(request) }
    }

    func unlock(request: V3lockpb_UnlockRequest, context: ServerContext) async throws -> V3lockpb_UnlockResponse {
        try await rpc { () async throws(EtcdError) in try await server.unlock(request) }
    }
}

/// `v3electionpb.Election`: leader election among lease holders.
struct ElectionService: V3electionpb_Election.SimpleServiceProtocol {
    let server: EtcdServer

    func campaign(request: V3electionpb_CampaignRequest, context: ServerContext) async throws -> V3electionpb_CampaignResponse {
        try await rpc { () async throws(EtcdError) in try await server.campaign(request) }
    }

    func proclaim(request: V3electionpb_ProclaimRequest, context: ServerContext) async throws -> V3electionpb_ProclaimResponse {
        try await rpc { () async throws(EtcdError) in try await server.proclaim(request) }
    }

    func leader(request: V3electionpb_LeaderRequest, context: ServerContext) async throws -> V3electionpb_LeaderResponse {
        try await rpc { () async throws(EtcdError) in try await server.leader(request) }
    }

    func observe(
        request: V3electionpb_LeaderRequest, response: RPCWriter<V3electionpb_LeaderResponse>, context: ServerContext
    ) async throws {
        do {
            try await server.observe(request) { try await response.write($0) }
        } catch let error as EtcdError {
            throw RPCError(error)
        }
    }

    func resign(request: V3electionpb_ResignRequest, context: ServerContext) async throws -> V3electionpb_ResignResponse {
        try await rpc { () async throws(EtcdError) in try await server.resign(request) }
    }
}
