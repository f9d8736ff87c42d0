import EtcdProto
import EtcdServer
import LeanGRPC

/// `etcdserverpb.Maintenance`: status and hashes. Alarms are never raised (there is no
/// space quota yet), so the alarm list is always empty.
enum MaintenanceService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_Maintenance.Method
        routes.unary(Method.Status.descriptor) { (_: Etcdserverpb_StatusRequest) in try server.status() }
        routes.unary(Method.HashKV.descriptor) { (request: Etcdserverpb_HashKVRequest) in try server.hashKV(revision: request.revision) }
        routes.unary(Method.Alarm.descriptor) { try alarm($0, server: server) }
        routes.unary(Method.Defragment.descriptor) { (_: Etcdserverpb_DefragmentRequest) -> Etcdserverpb_DefragmentResponse in
            throw Unsupported.feature("defragment")
        }
        routes.unary(Method.Hash.descriptor) { (_: Etcdserverpb_HashRequest) -> Etcdserverpb_HashResponse in
            throw Unsupported.feature("Hash (use HashKV)")
        }
        routes.serverStreaming(Method.Snapshot.descriptor) {
            (_: Etcdserverpb_SnapshotRequest, _: GRPCResponseWriter<Etcdserverpb_SnapshotResponse>) in
            throw Unsupported.feature("snapshot")
        }
        routes.unary(Method.MoveLeader.descriptor) { (request: Etcdserverpb_MoveLeaderRequest) in
            try await server.moveLeader(to: request.targetID)
            return Etcdserverpb_MoveLeaderResponse()
        }
        routes.unary(Method.Downgrade.descriptor) { (_: Etcdserverpb_DowngradeRequest) -> Etcdserverpb_DowngradeResponse in
            throw Unsupported.feature("downgrade")
        }
    }

    /// Alarms: none is ever raised yet, so GET answers an empty list.
    static func alarm(_ request: Etcdserverpb_AlarmRequest, server: EtcdServer) throws -> Etcdserverpb_AlarmResponse {
        guard request.action == .get else { throw Unsupported.feature("activating or deactivating alarms") }
        var response = Etcdserverpb_AlarmResponse()
        response.header = server.header()
        return response
    }
}
