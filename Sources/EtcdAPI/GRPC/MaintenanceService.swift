import EtcdProto
import EtcdServer
import LeanGRPC

/// `etcdserverpb.Maintenance`: status, hashes and snapshots. Alarms are never raised (there is no
/// space quota yet), so the alarm list is always empty. Under auth, as in etcd 3.6: Status
/// and listing alarms need a user, everything else the root role.
enum MaintenanceService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_Maintenance.Method
        routes.unary(Method.Status.descriptor, withHead: { (_: Etcdserverpb_StatusRequest, head) in
            try await server.requireIdentity(Credentials(head))
            return try server.status()
        })
        routes.rootOnly(Method.HashKV.descriptor, server: server) { (request: Etcdserverpb_HashKVRequest) in
            try server.hashKV(revision: request.revision)
        }
        routes.unary(Method.Alarm.descriptor, withHead: { try await alarm($0, server: server, caller: Credentials($1)) })
        routes.rootOnly(Method.Defragment.descriptor, server: server) { (_: Etcdserverpb_DefragmentRequest) -> Etcdserverpb_DefragmentResponse in
            throw Unsupported.feature("defragment")
        }
        routes.rootOnly(Method.Hash.descriptor, server: server) { (_: Etcdserverpb_HashRequest) in try server.backendHash() }
        routes.streaming(Method.Snapshot.descriptor) {
            (requests: GRPCRequestStream<Etcdserverpb_SnapshotRequest>, responses: GRPCResponseWriter<Etcdserverpb_SnapshotResponse>) in
            var iterator = requests.makeAsyncIterator()
            guard try await iterator.next() != nil else { throw GRPCStatus.missingRequest }
            try await server.sendSnapshot(as: Credentials(requests.head)) { try await responses.write($0) }
        }
        routes.rootOnly(Method.MoveLeader.descriptor, server: server) { (request: Etcdserverpb_MoveLeaderRequest) in
            try await server.moveLeader(to: request.targetID)
            return Etcdserverpb_MoveLeaderResponse()
        }
        routes.rootOnly(Method.Downgrade.descriptor, server: server) { (_: Etcdserverpb_DowngradeRequest) -> Etcdserverpb_DowngradeResponse in
            throw Unsupported.feature("downgrade")
        }
    }

    /// Alarms: none is ever raised yet, so GET answers an empty list.
    static func alarm(_ request: Etcdserverpb_AlarmRequest, server: EtcdServer, caller: Credentials) async throws -> Etcdserverpb_AlarmResponse {
        if request.action == .get {
            try await server.requireIdentity(caller)
        } else {
            try await server.requireAdmin(caller)
            throw Unsupported.feature("activating or deactivating alarms")
        }
        var response = Etcdserverpb_AlarmResponse()
        response.header = server.header()
        return response
    }
}
