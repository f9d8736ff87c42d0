import EtcdProto
import Foundation
import GRPCCore
import Logging
import Raft
import HarnessSupport
import Synchronization
import LeanGRPC
import Testing
@testable import Transport

/// The peer port serves members of the cluster only: strangers get nothing, and what a
/// member could not have sent is refused before it reaches the member.
@Suite struct PeerAdmissionTests {
    /// Member 2 of cluster 42, serving on a free port, that knows member 1 at `memberURL`.
    struct Receiver {
        let handler: RecordingHandler
        let transport: PeerTransport
        let url: String
        let serving: Task<Void, any Error>
        static let memberURL = "http://127.0.0.1:1"

        init(refusesSnapshots: Bool = false) async throws {
            handler = RecordingHandler(refusesSnapshots: refusesSnapshots)
            transport = PeerTransport(localID: 2, clusterID: 42, handler: handler, logger: Logger(label: "test"))
            transport.addPeer(1, urls: [Self.memberURL])
            let port = try Ports.free(1)[0]
            url = "http://127.0.0.1:\(port)"
            let (bound, continuation) = AsyncStream.makeStream(of: Void.self)
            serving = Task { [transport, handler] in
                // Also when serving fails (the port was taken meanwhile): the wait below ends,
                // and the test fails on the connection instead of hanging.
                defer { continuation.finish() }
                try await transport.serve(host: "127.0.0.1", port: port, forwarded: handler) { continuation.finish() }
            }
            for await _ in bound {}
        }

        func stop() {
            serving.cancel()
            transport.stop()
        }

        var service: PeerService {
            PeerService(
                localID: 2, clusterID: { 42 }, handler: handler, forwarded: handler, logger: Logger(label: "test"),
                isKnownPeer: { $0 == 1 }, isKnownPeerURLs: { $0 == [Receiver.memberURL] })
        }
    }

    /// Runs `body` with the Peer calls of a member `id` of cluster `cluster`, addressed to
    /// member `to` (at the receiver's URL).
    func asMember<T>(
        _ id: UInt64, cluster: UInt64 = 42, to: UInt64 = 2, of receiver: Receiver, _ body: (PeerClient) async throws -> T
    ) async throws -> T {
        let transport = PeerTransport(localID: id, clusterID: cluster, handler: RecordingHandler(), logger: Logger(label: "test"))
        defer { transport.stop() }
        transport.addPeer(to, urls: [receiver.url])
        return try await body(try await transport.peerClient(to))
    }

    func refusalCode(_ body: () async throws -> Void) async -> RPCError.Code? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch let error as LeanRPCError {
            // The forwarded calls travel over LeanGRPC: its error carries the code's number.
            return Status.Code(rawValue: error.code).flatMap { RPCError.Code($0) }
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func strangersGetNeitherMembershipNorLeases() async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let otherCluster = await refusalCode { _ = try await asMember(1, cluster: 7, of: receiver) { try await $0.members() } }
        #expect(otherCluster == .failedPrecondition)
        let stranger = await refusalCode {
            _ = try await asMember(9, of: receiver) { try await $0.leaseTimeToLive(.with { $0.id = 5; $0.keys = true }) }
        }
        #expect(stranger == .notFound, "the right cluster ID is not enough: the sender must be a member")
        let misaddressed = await refusalCode { _ = try await asMember(1, to: 3, of: receiver) { try await $0.leaseRenew(.with { $0.id = 5 }) } }
        #expect(misaddressed == .failedPrecondition)
        let promote = await refusalCode { _ = try await asMember(9, of: receiver) { try await $0.memberPromote(.with { $0.id = 9 }) } }
        #expect(promote == .notFound)
        #expect(receiver.handler.served.withLock { $0 } == 0, "no refused call reached the member")

        let renewed = try await asMember(1, of: receiver) { try await $0.leaseRenew(.with { $0.id = 5 }) }
        #expect(renewed.ttl == 9, "a member's call is served")
        #expect(try await asMember(1, of: receiver) { try await $0.members() }.clusterID == 42)
    }

    @Test func aJoiningMemberFetchesTheMembershipByItsPeerURLs() async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let response = try await PeerTransport.fetchMembers(from: [receiver.url], joiningWith: [Receiver.memberURL])
        #expect(response.clusterID == 42)
        let stranger = await refusalCode {
            _ = try await PeerTransport.fetchMembers(from: [receiver.url], joiningWith: ["http://127.0.0.1:2"])
        }
        #expect(stranger == .notFound)
        #expect(receiver.handler.served.withLock { $0 } == 1)
    }

    @Test func theRaftStreamCarriesNoSnapshotsNorForgedMessages() async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let service = receiver.service
        func batch(_ message: Message, from: UInt64 = 1, cluster: UInt64 = 42) -> Swetcdpb_RaftBatch {
            PeerConnection.batches([message], header: PeerIdentity(clusterID: cluster, from: from, to: 2).header, maxBytes: 1 << 20)[0]
        }
        var snap = Message(type: .snap, to: 2, from: 1, term: 3)
        snap.snapshot = Snapshot(metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2]), index: 1_000_000, term: 3))
        let refused = [
            batch(snap),
            batch(Message(type: .heartbeat, to: 2, from: 3, term: 3)),
            batch(Message(type: .heartbeat, to: 4, from: 1, term: 3)),
            batch(Message(type: .hup, to: 2, from: 1)),
            batch(Message(type: .heartbeat, to: 2, from: 9, term: 3), from: 9),
            batch(Message(type: .heartbeat, to: 2, from: 1, term: 3), cluster: 7),
        ]
        for refusal in refused {
            #expect(throws: RPCError.self) { try service.receive(refusal) }
        }
        #expect(receiver.handler.received.withLock { $0.isEmpty })
        try service.receive(batch(Message(type: .heartbeat, to: 2, from: 1, term: 3)))
        #expect(receiver.handler.received.withLock { $0.map(\.type) } == [.heartbeat])
    }

    func snapshotMessage(from: UInt64) -> Message {
        var message = Message(type: .snap, to: 2, from: from, term: 3)
        message.snapshot = Snapshot(metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2]), index: 10, term: 3))
        return message
    }

    func sendSnapshot(as sender: UInt64, to receiver: Receiver) async throws -> Bool? {
        let handler = RecordingHandler()
        let transport = PeerTransport(localID: sender, clusterID: 42, handler: handler, logger: Logger(label: "test"))
        defer { transport.stop() }
        transport.addPeer(2, urls: [receiver.url])
        let database = FileManager.default.temporaryDirectory.appendingPathComponent("db-\(UUID().uuidString)")
        try Data(repeating: 1, count: 100_000).write(to: database)
        defer { try? FileManager.default.removeItem(at: database) }
        await transport.sendSnapshot(snapshotMessage(from: sender), databasePath: database.path)
        return handler.snapshotReports.withLock { $0.first?.1 }
    }

    func leftoverFiles(_ receiver: Receiver) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: receiver.handler.snapshotDirectory)) ?? []
    }

    @Test func aStrangersSnapshotIsRefusedAndLeavesNoFile() async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        #expect(try await sendSnapshot(as: 9, to: receiver) == false)
        #expect(receiver.handler.snapshots.withLock { $0.isEmpty })
        #expect(leftoverFiles(receiver).isEmpty)
    }

    @Test func aSnapshotTheMemberRefusesLeavesNoFile() async throws {
        let receiver = try await Receiver(refusesSnapshots: true)
        defer { receiver.stop() }
        #expect(try await sendSnapshot(as: 1, to: receiver) == false)
        #expect(leftoverFiles(receiver).isEmpty)
    }
}
