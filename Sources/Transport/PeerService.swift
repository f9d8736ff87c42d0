import EtcdProto
import Foundation
import GRPCCore
import Logging
import Raft

/// The incoming side: the `swetcdpb.Peer` service other members call.
struct PeerService: Swetcdpb_Peer.SimpleServiceProtocol {
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

    func raft(request: RPCAsyncSequence<Swetcdpb_RaftBatch, any Error>, context: ServerContext) async throws -> Swetcdpb_PeerAck {
        for try await batch in request {
            do {
                try check(batch.header)
            } catch {
                logger.warning("refused Raft messages from a peer", metadata: ["error": "\(error)", "from": "\(hex(batch.header.from))"])
                throw error
            }
            var messages: [Message] = []
            messages.reserveCapacity(batch.messages.count)
            for encoded in batch.messages {
                messages.append(try Message(decoding: [UInt8](encoded)))
            }
            handler.receive(messages)
        }
        return Swetcdpb_PeerAck()
    }

    func snapshot(request: RPCAsyncSequence<Swetcdpb_SnapshotChunk, any Error>, context: ServerContext) async throws -> Swetcdpb_PeerAck {
        var message: Message?
        var file: FileHandle?
        let path = handler.snapshotDirectory + "/incoming-\(UUID().uuidString).db"
        defer { try? file?.close() }
        for try await chunk in request {
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
                return Swetcdpb_PeerAck()
            }
        }
        try? FileManager.default.removeItem(atPath: path)
        throw RPCError(code: .dataLoss, message: "snapshot stream ended before its last chunk")
    }

    func members(request: Swetcdpb_MembersRequest, context: ServerContext) async throws -> Swetcdpb_MembersResponse {
        handler.members()
    }

    func leaseRenew(request: Etcdserverpb_LeaseKeepAliveRequest, context: ServerContext) async throws -> Etcdserverpb_LeaseKeepAliveResponse {
        try await handler.forwardedLeaseRenew(request)
    }

    func leaseTimeToLive(request: Etcdserverpb_LeaseTimeToLiveRequest, context: ServerContext) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        try await handler.forwardedLeaseTimeToLive(request)
    }

    func memberPromote(request: Etcdserverpb_MemberPromoteRequest, context: ServerContext) async throws -> Etcdserverpb_MemberPromoteResponse {
        try await handler.forwardedMemberPromote(request)
    }
}
