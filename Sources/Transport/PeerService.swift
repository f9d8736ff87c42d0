import EtcdProto
import Foundation
import GRPCCore
import LeanGRPC
import Logging
import Raft

/// The incoming side: the `swetcdpb.Peer` methods other members call, served by LeanGRPC's
/// server. Raft batches are handed to the member on the connection's event loop as they
/// arrive; the rare calls (snapshots, membership, forwarded lease calls) run as tasks.
struct PeerService: Sendable {
    /// The status a removed member's traffic is refused with; the sender stops on seeing it.
    static let removedMemberCode = RPCError.Code.permissionDenied

    let localID: UInt64
    let clusterID: @Sendable () -> UInt64
    let handler: any PeerHandler
    let logger: Logger

    private func check(_ header: Swetcdpb_PeerHeader) throws {
        let local = clusterID()
        if local != 0 && header.clusterID != local {
            throw RPCError(code: .failedPrecondition, message: "\(PeerError.clusterMismatch(local: local, remote: header.clusterID))")
        }
        if header.to != localID {
            throw RPCError(code: .failedPrecondition, message: "\(PeerError.wrongRecipient(local: localID, addressed: header.to))")
        }
        if handler.isRemoved(header.from) {
            throw RPCError(code: Self.removedMemberCode, message: "\(PeerError.removedMember(header.from))")
        }
    }

    /// The routes of every Peer method.
    func routes() throws -> GRPCRoutes {
        var routes = GRPCRoutes()
        try routes.clientStreamingOnLoop(Swetcdpb_Peer.Method.Raft.descriptor, response: Swetcdpb_PeerAck()) {
            (batch: Swetcdpb_RaftBatch) in
            try receive(batch)
        }
        routes.streaming(Swetcdpb_Peer.Method.Snapshot.descriptor) {
            (chunks: GRPCRequestStream<Swetcdpb_SnapshotChunk>, writer: GRPCResponseWriter<Swetcdpb_PeerAck>) in
            try await receiveSnapshot(chunks)
            try await writer.write(Swetcdpb_PeerAck())
        }
        routes.unary(Swetcdpb_Peer.Method.Members.descriptor) { (_: Swetcdpb_MembersRequest) in
            handler.members()
        }
        routes.unary(Swetcdpb_Peer.Method.LeaseRenew.descriptor) { (request: Etcdserverpb_LeaseKeepAliveRequest) in
            try await handler.forwardedLeaseRenew(request)
        }
        routes.unary(Swetcdpb_Peer.Method.LeaseTimeToLive.descriptor) { (request: Etcdserverpb_LeaseTimeToLiveRequest) in
            try await handler.forwardedLeaseTimeToLive(request)
        }
        routes.unary(Swetcdpb_Peer.Method.MemberPromote.descriptor) { (request: Etcdserverpb_MemberPromoteRequest) in
            try await handler.forwardedMemberPromote(request)
        }
        return routes
    }

    /// One batch of the Raft stream: checked, decoded, handed to the member in order.
    func receive(_ batch: Swetcdpb_RaftBatch) throws {
        do {
            try check(batch.header)
        } catch {
            logger.warning("refused Raft messages from a peer", metadata: ["error": "\(error)", "from": "\(hex(batch.header.from))"])
            throw error
        }
        var messages: [Message] = []
        messages.reserveCapacity(batch.messages.count)
        for encoded in batch.messages {
            do {
                messages.append(try Message(decoding: [UInt8](encoded)))
            } catch {
                throw RPCError(code: .invalidArgument, message: "undecodable Raft message from member \(hex(batch.header.from)): \(error)")
            }
        }
        handler.receive(messages)
    }

    private func receiveSnapshot(_ chunks: GRPCRequestStream<Swetcdpb_SnapshotChunk>) async throws {
        var message: Message?
        var file: FileHandle?
        let path = handler.snapshotDirectory + "/incoming-\(UUID().uuidString).db"
        defer { try? file?.close() }
        for try await chunk in chunks {
            if message == nil {
                try check(chunk.header)
                message = try Message(decoding: [UInt8](chunk.message))
                try FileManager.default.createDirectory(atPath: handler.snapshotDirectory, withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                file = FileHandle(forWritingAtPath: path)
                continue
            }
            try file?.write(contentsOf: chunk.data)
            if chunk.last {
                try file?.synchronize()
                try file?.close()
                file = nil
                guard let message else { break }
                try await handler.receiveSnapshot(message, databasePath: path)
                return
            }
        }
        try? FileManager.default.removeItem(atPath: path)
        throw RPCError(code: .dataLoss, message: "snapshot stream ended before its last chunk")
    }
}
