import EtcdProto
import EtcdServer
import GRPCCore
import LeanGRPC

/// `etcdserverpb.Cluster`: membership listing and changes.
enum ClusterService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_Cluster.Method
        routes.unary(Method.MemberList.descriptor) { (request: Etcdserverpb_MemberListRequest) in
            try await server.memberList(linearizable: request.linearizable)
        }
        routes.unary(Method.MemberAdd.descriptor) { try await server.memberAdd($0) }
        routes.unary(Method.MemberRemove.descriptor) { try await server.memberRemove($0) }
        routes.unary(Method.MemberUpdate.descriptor) { try await server.memberUpdate($0) }
        routes.unary(Method.MemberPromote.descriptor) { try await server.memberPromote($0) }
    }
}

/// Features swetcd does not have yet, reported as such rather than faked.
enum Unsupported {
    static let authentication = RPCError(code: .unimplemented, message: "swetcd: authentication is not supported yet")

    static func feature(_ name: String) -> RPCError {
        RPCError(code: .unimplemented, message: "swetcd: \(name) is not supported yet")
    }
}
