import EtcdProto
import Foundation
import Logging
import Raft
import Synchronization
import Testing
@testable import Transport

/// A handler that records what arrives.
final class RecordingHandler: PeerHandler, ForwardedCallHandler {
    let received = Mutex<[Message]>([])
    let snapshots = Mutex<[(Message, Data)]>([])
    let unreachable = Mutex<Set<UInt64>>([])
    let snapshotReports = Mutex<[(UInt64, Bool)]>([])
    let removed: Set<UInt64>
    let snapshotDirectory: String
    /// Calls the handler answered for other members (membership, forwarded lease calls).
    let served = Mutex(0)
    /// Snapshots are refused (as the member refuses a bad database).
    let refusesSnapshots: Bool

    init(removed: Set<UInt64> = [], refusesSnapshots: Bool = false) {
        self.removed = removed
        self.refusesSnapshots = refusesSnapshots
        snapshotDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("transport-\(UUID().uuidString)").path
    }

    func receive(_ messages: [Message]) { received.withLock { $0.append(contentsOf: messages) } }
    func receiveSnapshot(_ message: Message, databasePath: String) async throws {
        if refusesSnapshots { throw PeerError.invalidMessage("refused by the test") }
        let data = try Data(contentsOf: URL(fileURLWithPath: databasePath))
        snapshots.withLock { $0.append((message, data)) }
    }
    func reportUnreachable(_ memberID: UInt64) { unreachable.withLock { _ = $0.insert(memberID) } }
    func reportSnapshot(to memberID: UInt64, succeeded: Bool) { snapshotReports.withLock { $0.append((memberID, succeeded)) } }
    func isRemoved(_ memberID: UInt64) -> Bool { removed.contains(memberID) }
    let toldRemoved = Mutex(false)
    func removedFromCluster() { toldRemoved.withLock { $0 = true } }
    func members() -> Swetcdpb_MembersResponse {
        served.withLock { $0 += 1 }
        var response = Swetcdpb_MembersResponse()
        response.clusterID = 42
        return response
    }
    func forwardedLeaseRenew(_ request: Etcdserverpb_LeaseKeepAliveRequest) async throws -> Etcdserverpb_LeaseKeepAliveResponse {
        served.withLock { $0 += 1 }
        var response = Etcdserverpb_LeaseKeepAliveResponse()
        response.id = request.id
        response.ttl = 9
        return response
    }
    func forwardedLeaseTimeToLive(_ request: Etcdserverpb_LeaseTimeToLiveRequest) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        served.withLock { $0 += 1 }
        return Etcdserverpb_LeaseTimeToLiveResponse()
    }
    func forwardedMemberPromote(_ request: Etcdserverpb_MemberPromoteRequest) async throws -> Etcdserverpb_MemberPromoteResponse {
        served.withLock { $0 += 1 }
        return Etcdserverpb_MemberPromoteResponse()
    }
}

@Suite struct PeerTransportTests {
    /// A TCP socket bound to a free port on 127.0.0.1; the caller closes it.
    func boundSocket() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    func freePort() throws -> Int {
        let (fd, port) = boundSocket()
        close(fd)
        return port
    }

    func waitUntil(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("condition not met in time"); return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func messagesArriveInOrderAndSnapshotsStream() async throws {
        let logger = Logger(label: "test")
        let portB = try freePort()
        let portA = try freePort()
        let handlerA = RecordingHandler()
        let handlerB = RecordingHandler()
        let a = PeerTransport(localID: 1, clusterID: 42, handler: handlerA, logger: logger)
        let b = PeerTransport(localID: 2, clusterID: 42, handler: handlerB, logger: logger)
        let bound = Mutex(false)
        let serving = Task { try await b.serve(host: "127.0.0.1", port: portB, forwarded: handlerB) { bound.withLock { $0 = true } } }
        defer {
            serving.cancel()
            a.stop()
            b.stop()
        }
        // Messages sent while the peer is down are dropped (Raft resends them): wait for it.
        try await waitUntil { bound.withLock { $0 } }
        a.addPeer(2, urls: ["http://127.0.0.1:\(portB)"])
        // B accepts traffic only from members it knows.
        b.addPeer(1, urls: ["http://127.0.0.1:\(portA)"])
        for round in 0..<10 {
            a.send((0..<100).map { i in
                Message(type: .app, to: 2, from: 1, term: 1, index: UInt64(round * 100 + i),
                        entries: [Entry(term: 1, index: UInt64(round * 100 + i), data: Array(repeating: 7, count: 100))])
            })
        }
        try await waitUntil { handlerB.received.withLock { $0.count } == 1000 }
        #expect(handlerB.received.withLock { $0.map(\.index) } == (0..<1000).map(UInt64.init), "in order, none lost")

        let database = FileManager.default.temporaryDirectory.appendingPathComponent("db-\(UUID().uuidString)")
        let content = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0) })
        try content.write(to: database)
        var snap = Message(type: .snap, to: 2, from: 1, term: 1)
        snap.snapshot = Snapshot(metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2]), index: 1000, term: 1))
        await a.sendSnapshot(snap, databasePath: database.path)
        try await waitUntil { handlerA.snapshotReports.withLock { !$0.isEmpty } }
        #expect(handlerA.snapshotReports.withLock { $0.first?.1 } == true)
        let received = handlerB.snapshots.withLock { $0 }
        #expect(received.count == 1)
        #expect(received.first?.0.snapshot?.metadata.index == 1000)
        #expect(received.first?.1 == content)

        let forwarded = try await a.peerClient(2).leaseRenew(.with { $0.id = 5 })
        #expect(forwarded.ttl == 9)
    }

    @Test func unreachablePeerIsReported() async throws {
        let handler = RecordingHandler()
        let a = PeerTransport(localID: 1, clusterID: 42, handler: handler, logger: Logger(label: "test"))
        defer { a.stop() }
        a.addPeer(3, urls: ["http://127.0.0.1:\(try freePort())"])
        a.send([Message(type: .heartbeat, to: 3, from: 1, term: 1)])
        try await waitUntil { handler.unreachable.withLock { $0.contains(3) } }
    }

    /// Another cluster's member and a removed member are refused: each learns it from the
    /// refusal, and only after both refusals is the receiver checked to have taken nothing.
    @Test func otherClustersAndRemovedMembersAreRefused() async throws {
        let logger = Logger(label: "test")
        let port = try freePort()
        let receiver = RecordingHandler(removed: [7])
        let b = PeerTransport(localID: 2, clusterID: 42, handler: receiver, logger: logger)
        let serving = Task { try await b.serve(host: "127.0.0.1", port: port, forwarded: RecordingHandler()) {} }
        defer {
            serving.cancel()
            b.stop()
        }
        let strangerHandler = RecordingHandler()
        let stranger = PeerTransport(localID: 1, clusterID: 99, handler: strangerHandler, logger: logger)
        let removedHandler = RecordingHandler()
        let removed = PeerTransport(localID: 7, clusterID: 42, handler: removedHandler, logger: logger)
        defer {
            stranger.stop()
            removed.stop()
        }
        stranger.addPeer(2, urls: ["http://127.0.0.1:\(port)"])
        removed.addPeer(2, urls: ["http://127.0.0.1:\(port)"])
        // Both keep sending (as Raft would) until they have heard their refusal.
        try await waitUntil {
            stranger.send([Message(type: .heartbeat, to: 2, from: 1, term: 1)])
            return strangerHandler.unreachable.withLock { $0.contains(2) }
        }
        #expect(!strangerHandler.toldRemoved.withLock { $0 }, "another cluster's refusal is not a removal")
        try await waitUntil {
            removed.send([Message(type: .heartbeat, to: 2, from: 7, term: 1)])
            return removedHandler.toldRemoved.withLock { $0 }
        }
        #expect(receiver.received.withLock { $0.isEmpty })
    }

    /// A peer that accepts the connection and then reads nothing (paused, wedged) must not
    /// make the sender buffer without bound: past the limit batches are dropped and the peer
    /// reported unreachable, so Raft slows down sending to it.
    @Test func peerThatStopsReadingCostsBoundedMemory() async throws {
        let (fd, port) = boundSocket()
        defer { close(fd) }
        #expect(listen(fd, 4) == 0, "a listening socket that never accepts: the kernel completes the handshake")

        let handler = RecordingHandler()
        let connection = PeerConnection(
            localID: 1, remoteID: 2, urls: ["http://127.0.0.1:\(port)"], clusterID: { 42 }, handler: handler,
            logger: Logger(label: "test"), maxUnwrittenBytes: 1 << 20)
        defer { connection.close() }
        try await waitUntil { connection.isRaftStreamOpen }
        #expect(handler.unreachable.withLock { $0.isEmpty })
        // 100 KiB messages, 4 MiB in all: far past the 1 MiB allowed to wait for the socket.
        for index in 0..<40 {
            connection.send([Message(type: .app, to: 2, from: 1, term: 1, index: UInt64(index),
                                     entries: [Entry(term: 1, index: UInt64(index), data: Array(repeating: 1, count: 100 << 10))])])
        }
        try await waitUntil { handler.unreachable.withLock { $0.contains(2) } }
        #expect(connection.unwrittenBytes <= 1 << 20)
    }
}
