import EtcdProto
import EtcdServer
import GRPCCore

/// `etcdserverpb.Maintenance`: status and hashes. Alarms are never raised (there is no
/// space quota yet), so the alarm list is always empty.
struct MaintenanceService: Etcdserverpb_Maintenance.SimpleServiceProtocol {
    let server: EtcdServer

    func status(request: Etcdserverpb_StatusRequest, context: ServerContext) async throws -> Etcdserverpb_StatusResponse {
        try await rpc { () throws(EtcdError) in try server.status() }
    }

    func hashKV(request: Etcdserverpb_HashKVRequest, context: ServerContext) async throws -> Etcdserverpb_HashKVResponse {
        try await rpc { () throws(EtcdError) in try server.hashKV(revision: request.revision) }
    }

    func alarm(request: Etcdserverpb_AlarmRequest, context: ServerContext) async throws -> Etcdserverpb_AlarmResponse {
        try Self.alarm(request, server: server)
    }

    /// Alarms: none is ever raised yet, so GET answers an empty list.
    static func alarm(_ request: Etcdserverpb_AlarmRequest, server: EtcdServer) throws -> Etcdserverpb_AlarmResponse {
        guard request.action == .get else { throw Unsupported.feature("activating or deactivating alarms") }
        var response = Etcdserverpb_AlarmResponse()
        response.header = server.header()
        return response
    }

    func defragment(request: Etcdserverpb_DefragmentRequest, context: ServerContext) async throws -> Etcdserverpb_DefragmentResponse {
        throw Unsupported.feature("defragment")
    }

    func hash(request: Etcdserverpb_HashRequest, context: ServerContext) async throws -> Etcdserverpb_HashResponse {
        throw Unsupported.feature("Hash (use HashKV)")
    }

    func snapshot(
        request: Etcdserverpb_SnapshotRequest, response: RPCWriter<Etcdserverpb_SnapshotResponse>, context: ServerContext
    ) async throws {
        throw Unsupported.feature("snapshot")
    }

    func moveLeader(request: Etcdserverpb_MoveLeaderRequest, context: ServerContext) async throws -> Etcdserverpb_MoveLeaderResponse {
        try await rpc { () async throws(EtcdError) in try await server.moveLeader(to: request.targetID) }
        return Etcdserverpb_MoveLeaderResponse()
    }

    func downgrade(request: Etcdserverpb_DowngradeRequest, context: ServerContext) async throws -> Etcdserverpb_DowngradeResponse {
        throw Unsupported.feature("downgrade")
    }
}
