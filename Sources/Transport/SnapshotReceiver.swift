import EtcdProto
import Foundation
import GRPCCore
import LeanGRPC
import Raft

/// Receives one snapshot: checks who sends it and what it claims to be, writes the database
/// to a file of its own and hands both to the member, which verifies the database and asks
/// Raft before anything replaces the backend. Whatever is refused leaves no file behind.
struct SnapshotReceiver {
    let service: PeerService

    func receive(_ chunks: GRPCRequestStream<Swetcdpb_SnapshotChunk>) async throws {
        var sender: UInt64 = 0
        do {
            try await write(chunks) { sender = $0 }
        } catch {
            service.logger.warning("refused a snapshot from a peer", metadata: ["from": "\(hex(sender))", "error": "\(error)"])
            throw error
        }
    }

    private func write(_ chunks: GRPCRequestStream<Swetcdpb_SnapshotChunk>, sender: (UInt64) -> Void) async throws {
        let handler = service.handler
        let path = handler.snapshotDirectory + "/incoming-\(UUID().uuidString).db"
        var handedOver = false
        var file: FileHandle?
        defer {
            try? file?.close()
            if !handedOver { try? FileManager.default.removeItem(atPath: path) }
        }
        var message: Message?
        for try await chunk in chunks {
            guard let snapshot = message else {
                sender(chunk.header.from)
                message = try checked(chunk)
                try FileManager.default.createDirectory(atPath: handler.snapshotDirectory, withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: path, contents: nil), let opened = FileHandle(forWritingAtPath: path) else {
                    throw RPCError(code: .internalError, message: "cannot create \(path)")
                }
                file = opened
                continue
            }
            try file?.write(contentsOf: chunk.data)
            guard chunk.last else { continue }
            try file?.synchronize()
            try file?.close()
            file = nil
            do {
                try await handler.receiveSnapshot(snapshot, databasePath: path)
            } catch let refusal as PeerError {
                throw RPCError(code: .failedPrecondition, message: "\(refusal)")
            }
            handedOver = true
            return
        }
        throw RPCError(code: .dataLoss, message: "snapshot stream ended before its last chunk")
    }

    /// The MsgSnap of the first chunk, once the sender and the message are checked.
    private func checked(_ chunk: Swetcdpb_SnapshotChunk) throws -> Message {
        let identity = PeerIdentity(chunk.header)
        try service.check(identity)
        let message: Message
        do {
            message = try Message(decoding: [UInt8](chunk.message))
        } catch {
            throw RPCError(code: .invalidArgument, message: "undecodable snapshot message: \(error)")
        }
        guard message.type == .snap, message.snapshot != nil, message.from == identity.from, message.to == service.localID else {
            throw RPCError(code: .invalidArgument, message: "\(PeerError.invalidMessage("\(message.type) from \(hex(message.from)) to \(hex(message.to)) as a snapshot"))")
        }
        return message
    }
}
