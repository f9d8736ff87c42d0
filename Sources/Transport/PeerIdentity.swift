import EtcdProto
import GRPCCore
import LeanGRPC

/// Who makes a peer call. Raft batches and snapshot chunks carry it in their `PeerHeader`;
/// the unary calls (membership, forwarded lease and promote requests) carry it as gRPC
/// metadata, so etcd's request messages travel unchanged.
struct PeerIdentity: Sendable, Equatable {
    var clusterID: UInt64 = 0
    var from: UInt64 = 0
    var to: UInt64 = 0
    /// Set by a member joining the cluster, which does not know its ID yet: the peer URLs
    /// it was added with.
    var peerURLs: [String] = []

    static let clusterKey = "swetcd-cluster-id"
    static let fromKey = "swetcd-from"
    static let toKey = "swetcd-to"
    static let peerURLsKey = "swetcd-peer-urls"

    init(clusterID: UInt64, from: UInt64, to: UInt64) {
        self.clusterID = clusterID
        self.from = from
        self.to = to
    }

    init(joiningWith peerURLs: [String]) {
        self.peerURLs = peerURLs
    }

    init(_ header: Swetcdpb_PeerHeader) {
        self.init(clusterID: header.clusterID, from: header.from, to: header.to)
    }

    /// The identity a call's metadata gives (zero IDs for what is missing or malformed).
    init(_ head: GRPCCallHead) {
        clusterID = head.first(Self.clusterKey).flatMap { UInt64($0, radix: 16) } ?? 0
        from = head.first(Self.fromKey).flatMap { UInt64($0, radix: 16) } ?? 0
        to = head.first(Self.toKey).flatMap { UInt64($0, radix: 16) } ?? 0
        peerURLs = head.first(Self.peerURLsKey).map { $0.split(separator: ",").map(String.init) } ?? []
    }

    /// The identity as request headers, for LeanGRPC's calls.
    var headers: [(name: String, value: String)] {
        if !peerURLs.isEmpty { return [(Self.peerURLsKey, peerURLs.joined(separator: ","))] }
        return [(Self.clusterKey, hex(clusterID)), (Self.fromKey, hex(from)), (Self.toKey, hex(to))]
    }

    var header: Swetcdpb_PeerHeader {
        var header = Swetcdpb_PeerHeader()
        header.clusterID = clusterID
        header.from = from
        header.to = to
        return header
    }

    /// The caller, for log lines.
    var caller: String { peerURLs.isEmpty ? hex(from) : "joining member at \(peerURLs)" }
}

/// The Peer calls one member makes to another on behalf of its clients; each carries the
/// caller's identity, without which the callee refuses it. They go over a LeanGRPC
/// connection of their own per peer, beside the Raft stream's.
public struct PeerClient: Sendable {
    let connection: LeanConnection
    let identity: PeerIdentity

    private static func path(_ method: MethodDescriptor) -> String { "/" + method.fullyQualifiedMethod }
    private static let leaseRenewPath = path(Swetcdpb_Peer.Method.LeaseRenew.descriptor)
    private static let leaseTimeToLivePath = path(Swetcdpb_Peer.Method.LeaseTimeToLive.descriptor)
    private static let memberPromotePath = path(Swetcdpb_Peer.Method.MemberPromote.descriptor)
    private static let membersPath = path(Swetcdpb_Peer.Method.Members.descriptor)

    /// A keep-alive, answered by the callee if it leads.
    public func leaseRenew(_ request: Etcdserverpb_LeaseKeepAliveRequest) async throws -> Etcdserverpb_LeaseKeepAliveResponse {
        try await connection.unary(Self.leaseRenewPath, request, as: Etcdserverpb_LeaseKeepAliveResponse.self, metadata: identity.headers)
    }

    /// A lease's time to live, answered by the callee if it leads.
    public func leaseTimeToLive(_ request: Etcdserverpb_LeaseTimeToLiveRequest) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        try await connection.unary(
            Self.leaseTimeToLivePath, request, as: Etcdserverpb_LeaseTimeToLiveResponse.self, metadata: identity.headers)
    }

    /// A learner promotion, answered by the callee if it leads.
    public func memberPromote(_ request: Etcdserverpb_MemberPromoteRequest) async throws -> Etcdserverpb_MemberPromoteResponse {
        try await connection.unary(Self.memberPromotePath, request, as: Etcdserverpb_MemberPromoteResponse.self, metadata: identity.headers)
    }

    /// The membership as the callee knows it.
    public func members() async throws -> Swetcdpb_MembersResponse {
        try await connection.unary(
            Self.membersPath, Swetcdpb_MembersRequest.with { $0.header = identity.header }, as: Swetcdpb_MembersResponse.self,
            metadata: identity.headers)
    }
}
