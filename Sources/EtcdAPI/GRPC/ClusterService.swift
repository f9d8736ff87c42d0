import EtcdProto
import EtcdServer
import GRPCCore

/// `etcdserverpb.Cluster`: membership listing and changes.
struct ClusterService: Etcdserverpb_Cluster.SimpleServiceProtocol {
    let server: EtcdServer

    func memberList(request: Etcdserverpb_MemberListRequest, context: ServerContext) async throws -> Etcdserverpb_MemberListResponse {
        try await rpc { () async throws(EtcdError) in try await server.memberList(linearizable: request.linearizable) }
    }

    func memberAdd(request: Etcdserverpb_MemberAddRequest, context: ServerContext) async throws -> Etcdserverpb_MemberAddResponse {
        try await rpc { () async throws(EtcdError) in try await server.memberAdd(request) }
    }

    func memberRemove(request: Etcdserverpb_MemberRemoveRequest, context: ServerContext) async throws -> Etcdserverpb_MemberRemoveResponse {
        try await rpc { () async throws(EtcdError) in try await server.memberRemove(request) }
    }

    func memberUpdate(request: Etcdserverpb_MemberUpdateRequest, context: ServerContext) async throws -> Etcdserverpb_MemberUpdateResponse {
        try await rpc { () async throws(EtcdError) in try await server.memberUpdate(request) }
    }

    func memberPromote(request: Etcdserverpb_MemberPromoteRequest, context: ServerContext) async throws -> Etcdserverpb_MemberPromoteResponse {
        try await rpc { () async throws(EtcdError) in try await server.memberPromote(request) }
    }
}

/// Features swetcd does not have yet, reported as such rather than faked.
enum Unsupported {
    static let authentication = RPCError(code: .unimplemented, message: "swetcd: authentication is not supported yet")

    static func feature(_ name: String) -> RPCError {
        RPCError(code: .unimplemented, message: "swetcd: \(name) is not supported yet")
    }
}
