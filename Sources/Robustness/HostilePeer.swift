import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Raft
import HarnessSupport

/// A stranger, and a forger of member identities, on one member's peer port, speaking swetcd's
/// peer protocol (Protos/swetcdpb/peer.proto): every input must be refused by the transport
/// or dropped by Raft, and the member must live on.
struct HostilePeer {
    let member: Int
    let cluster: Cluster
    let clock: RunClock
    let wasLeader: Bool
    var random: SplitMix64

    /// Who the member is, and whom the forger claims to be.
    private struct Identities {
        var cluster: UInt64
        var target: UInt64
        /// A current member the forger speaks as: the leader unless the target leads.
        var forged: UInt64
        /// No member of the cluster.
        var stranger: UInt64
        var members: [UInt64]
        var term: UInt64
        var committed: UInt64
    }

    /// Sends every input once, in order; one record per input.
    mutating func run() async -> [FaultRecord] {
        var recorder = HostileRecorder(kind: .hostilePeer, member: member, cluster: cluster, clock: clock,
                                       wasLeader: wasLeader)
        let members = await cluster.ids()
        guard let status = await cluster.admin[member].status(timeout: .seconds(3)),
              let connection = try? MemberConnection(port: cluster.peerPorts[member])
        else { return [] }
        let target = status.header.memberID
        let others = members.filter { $0 != target }
        var stranger = random.next() | 1
        while members.contains(stranger) { stranger = random.next() | 1 }
        let ids = Identities(
            cluster: status.header.clusterID, target: target,
            forged: status.leader != 0 && status.leader != target ? status.leader : others.first ?? stranger,
            stranger: stranger, members: members, term: status.raftTerm, committed: status.raftIndex)
        await raftInputs(Swetcdpb_Peer.Client(wrapping: connection.client), ids, &recorder)
        await otherInputs(Swetcdpb_Peer.Client(wrapping: connection.client), ids, &recorder)
        await connection.close()
        return recorder.records
    }

    private typealias Peer = Swetcdpb_Peer.Client<HTTP2ClientTransport.Posix>

    private static func header(cluster: UInt64, from: UInt64, to: UInt64) -> Swetcdpb_PeerHeader {
        .with {
            $0.clusterID = cluster
            $0.from = from
            $0.to = to
        }
    }

    private static var options: CallOptions { MemberConnection.options(timeout: HostileRecorder.timeout) }

    /// Sends one batch on the Raft stream.
    private static func send(_ peer: Peer, _ messages: [[UInt8]], header: Swetcdpb_PeerHeader) async throws -> String {
        let batch = Swetcdpb_RaftBatch.with {
            $0.header = header
            $0.messages = messages.map { Data($0) }
        }
        _ = try await peer.raft(options: options) { try await $0.write(batch) }
        return "acknowledged"
    }

    private mutating func randomBytes(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count { withUnsafeBytes(of: random.next()) { bytes += $0 } }
        return Array(bytes.prefix(count))
    }

    private mutating func raftInputs(_ peer: Peer, _ ids: Identities, _ recorder: inout HostileRecorder) async {
        let asMember = Self.header(cluster: ids.cluster, from: ids.forged, to: ids.target)
        let garbage = randomBytes(96)
        await recorder.probe("random bytes as a Raft batch", expect: .anyError) {
            _ = try await peer.raft(
                request: StreamingClientRequest { try await $0.write(Swetcdpb_RaftBatch()) },
                serializer: FixedBytesSerializer<Swetcdpb_RaftBatch>(bytes: garbage), deserializer: ProtobufDeserializer<Swetcdpb_PeerAck>(),
                options: Self.options)
            return "acknowledged"
        }
        let message = randomBytes(64)
        await recorder.probe("random bytes as a Raft message from a member", expect: .anyError) {
            try await Self.send(peer, [message], header: asMember)
        }
        let admin = cluster.admin[member]
        let overflow = Message(type: .heartbeat, to: ids.target, from: ids.forged, term: .max).encoded()
        await recorder.probe("heartbeat at term 2^64-1 as a member", expect: .dropped(verify: {
            guard let status = await admin.status(timeout: .seconds(2)) else { return "no Status after it" }
            return status.raftTerm > maxAcceptedTerm ? "term is now \(status.raftTerm)" : nil
        })) {
            try await Self.send(peer, [overflow], header: asMember)
        }
        let commit: UInt64 = 1_000_000_000
        let far = Message(type: .heartbeat, to: ids.target, from: ids.forged, term: ids.term, commit: commit).encoded()
        await recorder.probe("heartbeat committing \(commit) as a member", expect: .dropped(verify: {
            guard let status = await admin.status(timeout: .seconds(2)) else { return "no Status after it" }
            return status.raftIndex >= commit || status.raftAppliedIndex >= commit
                ? "committed index is now \(status.raftIndex), applied \(status.raftAppliedIndex)" : nil
        })) {
            try await Self.send(peer, [far], header: asMember)
        }
        let snapshot = snapshotMessage(ids, from: ids.forged).encoded()
        await recorder.probe("MsgSnap on the Raft stream as a member", expect: .anyError) {
            try await Self.send(peer, [snapshot], header: asMember)
        }
        let heartbeat = Message(type: .heartbeat, to: ids.target, from: ids.forged, term: ids.term).encoded()
        let foreign = Self.header(cluster: ids.cluster ^ 0x5EED, from: ids.forged, to: ids.target)
        await recorder.probe("Raft batch with another cluster's ID", expect: .anyError) {
            try await Self.send(peer, [heartbeat], header: foreign)
        }
        let strangers = Message(type: .heartbeat, to: ids.target, from: ids.stranger, term: ids.term).encoded()
        let unknown = Self.header(cluster: ids.cluster, from: ids.stranger, to: ids.target)
        await recorder.probe("Raft batch from an unknown sender", expect: .anyError) {
            try await Self.send(peer, [strangers], header: unknown)
        }
    }

    private func snapshotMessage(_ ids: Identities, from sender: UInt64) -> Message {
        let index = ids.committed + 1_000_000
        let metadata = SnapshotMetadata(confState: ConfState(voters: ids.members), index: index, term: ids.term)
        return Message(type: .snap, to: ids.target, from: sender, term: ids.term, snapshot: Snapshot(metadata: metadata))
    }

    private mutating func otherInputs(_ peer: Peer, _ ids: Identities, _ recorder: inout HostileRecorder) async {
        for (who, sender) in [("a member", ids.forged), ("a stranger", ids.stranger)] {
            let header = Self.header(cluster: ids.cluster, from: sender, to: ids.target)
            let message = snapshotMessage(ids, from: sender).encoded()
            let database = randomBytes(8192)
            await recorder.probe("snapshot with a garbage database as \(who)", expect: .anyError) {
                _ = try await peer.snapshot(options: Self.options) { writer in
                    try await writer.write(.with {
                        $0.header = header
                        $0.message = Data(message)
                    })
                    try await writer.write(.with {
                        $0.header = header
                        $0.data = Data(database)
                        $0.last = true
                    })
                }
                return "acknowledged"
            }
        }
        let stranger: Metadata = [
            "swetcd-cluster-id": .string(String(ids.cluster, radix: 16)),
            "swetcd-from": .string(String(ids.stranger, radix: 16)), "swetcd-to": .string(String(ids.target, radix: 16)),
        ]
        let joining: Metadata = ["swetcd-peer-urls": "http://127.0.0.1:1"]
        let lease = Int64(bitPattern: random.next() | 1)
        for (who, metadata) in [("without an identity", Metadata()), ("naming an unknown sender", stranger)] {
            await recorder.probe("Members \(who)", expect: .anyError) {
                "\(try await peer.members(Swetcdpb_MembersRequest(), metadata: metadata, options: Self.options).members.count) members"
            }
            await recorder.probe("LeaseTimeToLive with keys \(who)", expect: .anyError) {
                let request = Etcdserverpb_LeaseTimeToLiveRequest.with {
                    $0.id = lease
                    $0.keys = true
                }
                return "TTL \(try await peer.leaseTimeToLive(request, metadata: metadata, options: Self.options).ttl)"
            }
            await recorder.probe("LeaseRenew \(who)", expect: .anyError) {
                "TTL \(try await peer.leaseRenew(.with { $0.id = lease }, metadata: metadata, options: Self.options).ttl)"
            }
        }
        await recorder.probe("Members naming peer URLs no member was added with", expect: .anyError) {
            "\(try await peer.members(Swetcdpb_MembersRequest(), metadata: joining, options: Self.options).members.count) members"
        }
    }
}

/// Sends the same bytes whatever the message: garbage in place of a protobuf.
struct FixedBytesSerializer<Message>: MessageSerializer {
    let bytes: [UInt8]

    func serialize<Bytes: GRPCContiguousBytes>(_ message: Message) throws -> Bytes {
        Bytes(bytes)
    }
}
