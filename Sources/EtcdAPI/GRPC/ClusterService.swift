import EtcdProto
import EtcdServer
import GRPCCore

/// `etcdserverpb.Cluster`. Membership changes need a multi-member cluster, which swetcd
/// does not run yet; those calls fail with an explicit "not supported" status.
struct ClusterService: Etcdserverpb_Cluster.SimpleServiceProtocol {
    let server: EtcdServer

    func memberList(request: Etcdserverpb_MemberListRequest, context: ServerContext) async throws -> Etcdserverpb_MemberListResponse {
        server.memberList()
    }

    func memberAdd(request: Etcdserverpb_MemberAddRequest, context: ServerContext) async throws -> Etcdserverpb_MemberAddResponse {
        throw Unsupported.membershipChanges
    }

    func memberRemove(request: Etcdserverpb_MemberRemoveRequest, context: ServerContext) async throws -> Etcdserverpb_MemberRemoveResponse {
        throw Unsupported.membershipChanges
    }

    func memberUpdate(request: Etcdserverpb_MemberUpdateRequest, context: ServerContext) async throws -> Etcdserverpb_MemberUpdateResponse {
        throw Unsupported.membershipChanges
    }

    func memberPromote(request: Etcdserverpb_MemberPromoteRequest, context: ServerContext) async throws -> Etcdserverpb_MemberPromoteResponse {
        throw Unsupported.membershipChanges
    }
}

/// Features swetcd does not have yet, reported as such rather than faked.
enum Unsupported {
    static let membershipChanges = RPCError(
        code: .unimplemented, message: "swetcd: membership changes are not supported yet (single-member cluster)")

    static let authentication = RPCError(code: .unimplemented, message: "swetcd: authentication is not supported yet")

    static func feature(_ name: String) -> RPCError {
        RPCError(code: .unimplemented, message: "swetcd: \(name) is not supported yet")
    }
}
