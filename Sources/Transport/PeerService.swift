import EtcdProto
import Foundation
import GRPCCore
import LeanGRPC
import Logging
import Raft

/// The incoming side: the `swetcdpb.Peer` methods other members call, served by LeanGRPC's
/// server. Raft batches are handed to the member on the connection's event loop as they
/// arrive; the rare calls (snapshots, membership, forwarded lease calls) run as tasks.
///
/// Nothing is served to a stranger: every call must come from a current member of this
/// cluster and be addressed to this member (a joining member, which does not know its ID
/// yet, may fetch the membership by naming the peer URLs it was added with).
struct PeerService: Sendable {
    /// The status a removed member's traffic is refused with; the sender stops on seeing it.
    static let removedMemberCode = RPCError.Code.permissionDenied

    let localID: UInt64
    let clusterID: @Sendable () -> UInt64
    let handler: any PeerHandler
    /// Answers the calls forwarded to this member as leader.
    let forwarded: any ForwardedCallHandler
    let logger: Logger
    /// Whether a member is one this member links to (a current member of the cluster).
    let isKnownPeer: @Sendable (UInt64) -> Bool
    /// Whether a current member was added with exactly these peer URLs.
    let isKnownPeerURLs: @Sendable ([String]) -> Bool

    /// Throws the refusal of a call from `identity` (etcd refuses a foreign cluster ID with
    /// 412, a removed member with 410 and an unknown sender with 404).
    func check(_ identity: PeerIdentity) throws(RPCError) {
        let local = clusterID()
        if local != 0 && identity.clusterID != local {
            throw RPCError(code: .failedPrecondition, message: "\(PeerError.clusterMismatch(local: local, remote: identity.clusterID))")
        }
        if identity.to != localID {
            throw RPCError(code: .failedPrecondition, message: "\(PeerError.wrongRecipient(local: localID, addressed: identity.to))")
        }
        if handler.isRemoved(identity.from) {
            throw RPCError(code: Self.removedMemberCode, message: "\(PeerError.removedMember(identity.from))")
        }
        if !isKnownPeer(identity.from) {
            throw RPCError(code: .notFound, message: "\(PeerError.unknownSender(identity.from))")
        }
    }

    /// Decides whether a unary call may start, from its metadata; Raft batches and snapshots
    /// are checked by their headers instead.
    func admit(_ head: GRPCCallHead) -> GRPCStatus? {
        guard Self.unaryPaths.contains(head.path) else { return nil }
        let identity = PeerIdentity(head)
        do {
            if head.path == Self.membersPath, !identity.peerURLs.isEmpty {
                guard isKnownPeerURLs(identity.peerURLs) else {
                    throw RPCError(code: .notFound, message: "\(PeerError.unknownPeerURLs(identity.peerURLs))")
                }
            } else {
                try check(identity)
            }
            return nil
        } catch {
            logger.warning("refused a peer call", metadata: ["method": "\(head.path)", "from": "\(identity.caller)", "error": "\(error)"])
            return GRPCStatus(error)
        }
    }

    private static let membersPath = "/" + Swetcdpb_Peer.Method.Members.descriptor.fullyQualifiedMethod
    private static let unaryPaths: Set<String> = Set(
        [
            Swetcdpb_Peer.Method.Members.descriptor, Swetcdpb_Peer.Method.LeaseRenew.descriptor,
            Swetcdpb_Peer.Method.LeaseTimeToLive.descriptor, Swetcdpb_Peer.Method.MemberPromote.descriptor,
        ].map { "/" + $0.fullyQualifiedMethod })

    /// The routes of every Peer method.
    func routes() throws -> GRPCRoutes {
        var routes = GRPCRoutes()
        try routes.clientStreamingOnLoop(Swetcdpb_Peer.Method.Raft.descriptor, response: Swetcdpb_PeerAck()) {
            (batch: Swetcdpb_RaftBatch) in
            try receive(batch)
        }
        routes.streaming(Swetcdpb_Peer.Method.Snapshot.descriptor) {
            (chunks: GRPCRequestStream<Swetcdpb_SnapshotChunk>, writer: GRPCResponseWriter<Swetcdpb_PeerAck>) in
            try await SnapshotReceiver(service: self).receive(chunks)
            try await writer.write(Swetcdpb_PeerAck())
        }
        routes.unary(Swetcdpb_Peer.Method.Members.descriptor) { (_: Swetcdpb_MembersRequest) in
            handler.members()
        }
        routes.unary(Swetcdpb_Peer.Method.LeaseRenew.descriptor) { (request: Etcdserverpb_LeaseKeepAliveRequest) in
            try await answeringAsLeader { try await forwarded.forwardedLeaseRenew(request) }
        }
        routes.unary(Swetcdpb_Peer.Method.LeaseTimeToLive.descriptor) { (request: Etcdserverpb_LeaseTimeToLiveRequest) in
            try await answeringAsLeader { try await forwarded.forwardedLeaseTimeToLive(request) }
        }
        routes.unary(Swetcdpb_Peer.Method.MemberPromote.descriptor) { (request: Etcdserverpb_MemberPromoteRequest) in
            try await answeringAsLeader { try await forwarded.forwardedMemberPromote(request) }
        }
        return routes
    }

    /// Runs a forwarded call; a callee that does not lead says so in etcd's words.
    private func answeringAsLeader<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch PeerError.notLeader {
            throw RPCError(code: .failedPrecondition, message: PeerTransport.notLeaderMessage)
        }
    }

    /// One batch of the Raft stream: checked, decoded, handed to the member in order. A
    /// batch that is refused ends the stream.
    func receive(_ batch: Swetcdpb_RaftBatch) throws {
        let identity = PeerIdentity(batch.header)
        do {
            try check(identity)
            var messages: [Message] = []
            messages.reserveCapacity(batch.messages.count)
            for encoded in batch.messages {
                let message: Message
                do {
                    message = try Message(decoding: [UInt8](encoded))
                } catch {
                    throw RPCError(code: .invalidArgument, message: "undecodable Raft message: \(error)")
                }
                try checkStreamed(message, from: identity)
                messages.append(message)
            }
            handler.receive(messages)
        } catch {
            logger.warning("refused Raft messages from a peer", metadata: ["from": "\(hex(identity.from))", "error": "\(error)"])
            throw error
        }
    }

    /// A message on the Raft stream must be one members exchange, sent by the stream's
    /// member to this one; snapshots come only with their data, through `Snapshot`.
    private func checkStreamed(_ message: Message, from identity: PeerIdentity) throws(RPCError) {
        if message.type == .snap {
            throw RPCError(code: .invalidArgument, message: "\(PeerError.invalidMessage("MsgSnap on the Raft stream (snapshots travel with their database)"))")
        }
        if message.type.isLocal {
            throw RPCError(code: .invalidArgument, message: "\(PeerError.invalidMessage("\(message.type) is local to a member"))")
        }
        if message.from != identity.from || message.to != localID {
            throw RPCError(code: .invalidArgument, message: "\(PeerError.invalidMessage("\(message.type) from \(hex(message.from)) to \(hex(message.to)) on the stream from \(hex(identity.from))"))")
        }
    }
}
