import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Raft
import Storage

/// Someone who can reach a member's peer port and speaks its protocol, without being a
/// member: it claims whatever identity it likes in its headers.
struct HostilePeer: Sendable {
    let port: Int

    /// Runs `body` with a Peer client for the member's peer port.
    func call<T: Sendable>(_ body: @Sendable (Swetcdpb_Peer.Client<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        let client = GRPCClient(
            transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.runConnections()
                return nil
            }
            defer { client.beginGracefulShutdown() }
            return try await body(Swetcdpb_Peer.Client(wrapping: client))
        }
    }

    static func header(cluster: UInt64, from: UInt64, to: UInt64) -> Swetcdpb_PeerHeader {
        .with {
            $0.clusterID = cluster
            $0.from = from
            $0.to = to
        }
    }

    /// Sends Raft messages on the Raft stream, in one batch.
    func sendRaft(_ messages: [Message], header: Swetcdpb_PeerHeader) async throws {
        let batch = Swetcdpb_RaftBatch.with {
            $0.header = header
            $0.messages = messages.map { Data($0.encoded()) }
        }
        _ = try await call { peer in
            try await peer.raft(options: .timeout(seconds: 5)) { writer in try await writer.write(batch) }
        }
    }

    /// Sends a snapshot message with `database` through the Snapshot RPC.
    func sendSnapshot(_ message: Message, database: Data, header: Swetcdpb_PeerHeader) async throws {
        _ = try await call { peer in
            try await peer.snapshot(options: .timeout(seconds: 5)) { writer in
                try await writer.write(.with {
                    $0.header = header
                    $0.message = Data(message.encoded())
                })
                try await writer.write(.with {
                    $0.header = header
                    $0.data = database
                })
                try await writer.write(.with {
                    $0.header = header
                    $0.last = true
                })
            }
        }
    }

    /// A swetcd backend the stranger made: the given cluster ID, members and consistent
    /// index, and one key of its own.
    static func database(cluster: UInt64, members: [UInt64], consistentIndex: UInt64) throws -> Data {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stranger-\(UUID().uuidString).db").path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let backend = try Backend(path: path)
        try backend.batch.put(.cluster, Array("clusterID".utf8), bigEndian(cluster))
        try backend.batch.put(.meta, Array("consistent_index".utf8), bigEndian(consistentIndex))
        try backend.batch.put(.key, Array("stranger".utf8), Array("stranger's value".utf8))
        for id in members {
            let member = Swetcdpb_StoredMember.with {
                $0.id = id
                $0.peerUrls = ["http://127.0.0.1:\(id % 60000)"]
            }
            try backend.batch.put(.members, Array(String(id, radix: 16).utf8), try member.serializedBytes())
        }
        try backend.close()
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}
