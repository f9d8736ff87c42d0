import EtcdProto
import EtcdServer
import GRPCCore
import LeanGRPC

/// `etcdserverpb.Cluster`: membership listing and changes. Under auth, as in etcd 3.6:
/// listing needs a user, changes the root role.
enum ClusterService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_Cluster.Method
        routes.unary(Method.MemberList.descriptor, withHead: { (request: Etcdserverpb_MemberListRequest, head) in
            try await server.requireIdentity(Credentials(head))
            return try await server.memberList(linearizable: request.linearizable)
        })
        routes.rootOnly(Method.MemberAdd.descriptor, server: server) { try await server.memberAdd($0) }
        routes.rootOnly(Method.MemberRemove.descriptor, server: server) { try await server.memberRemove($0) }
        routes.rootOnly(Method.MemberUpdate.descriptor, server: server) { try await server.memberUpdate($0) }
        routes.rootOnly(Method.MemberPromote.descriptor, server: server) { try await server.memberPromote($0) }
    }
}

/// Features swetcd does not have yet, reported as such rather than faked.
enum Unsupported {
    static func feature(_ name: String) -> RPCError {
        RPCError(code: .unimplemented, message: "swetcd: \(name) is not supported yet")
    }
}
