import EtcdProto
import Foundation
import LeanGRPC
import Logging
import NIOCore
import Raft
import Synchronization

/// The outgoing side of the link to one peer. Raft messages go on one long-lived stream
/// over LeanGRPC's client (no task or async sequence per batch: the Raft thread encodes a
/// batch and hands it to the connection's event loop), reconnected with back-off. Forwarded
/// requests use a second connection, and each snapshot one of its own, so heartbeats never
/// queue behind either.
final class PeerConnection: Sendable {
    let remoteID: UInt64
    private let localID: UInt64
    private let clusterID: @Sendable () -> UInt64
    private let handler: any PeerHandler
    private let dialer: PeerDialer
    private let logger: Logger
    /// The peer's URLs, the first one in use.
    private let link: Mutex<[String]>
    /// The connection forwarded calls use: made on first use, and again once it closed.
    private let calls = Mutex<LeanConnection?>(nil)

    /// The Raft stream: open (a connection and the stream's token) or being (re)connected,
    /// when messages wait in `pending` (as many as `maxPendingMessages`).
    private struct RaftStream {
        var connection: LeanConnection?
        var token = 0
        var pending: [Message] = []
        var closed = false
    }
    private let stream = Mutex(RaftStream())
    private let streamTask = Mutex<Task<Void, Never>?>(nil)
    /// Bytes handed to the connection and not yet on the socket. Past `maxUnwrittenBytes`
    /// batches are dropped, as for a peer that stopped reading (Raft resends what is lost).
    private let unwritten = Atomic<Int>(0)
    private let maxUnwrittenBytes: Int
    private let maxPendingMessages = 4096
    /// Largest batch put in one stream message; bigger ones are split.
    private let maxBatchBytes = 8 << 20

    init(
        localID: UInt64, remoteID: UInt64, urls: [String], clusterID: @escaping @Sendable () -> UInt64,
        handler: any PeerHandler, dialer: PeerDialer = PeerDialer(tls: nil), logger: Logger, maxUnwrittenBytes: Int = 64 << 20
    ) {
        self.dialer = dialer
        self.localID = localID
        self.remoteID = remoteID
        self.clusterID = clusterID
        self.handler = handler
        self.logger = logger
        self.maxUnwrittenBytes = maxUnwrittenBytes
        link = Mutex(urls)
        let task = Task { [weak self] in
            guard let self else { return }
            await self.runRaftStream()
        }
        streamTask.withLock { $0 = task }
    }

    /// Sends messages to the peer, in order; never blocks (what cannot be sent is dropped
    /// and the peer reported unreachable).
    func send(_ messages: [Message]) {
        let dropped = stream.withLock { stream -> Int in
            guard !stream.closed else { return messages.count }
            guard let connection = stream.connection else {
                let room = max(0, maxPendingMessages - stream.pending.count)
                stream.pending.append(contentsOf: messages.prefix(room))
                return messages.count - min(room, messages.count)
            }
            return transmit(messages, on: connection, token: stream.token)
        }
        if dropped > 0 {
            handler.reportUnreachable(remoteID)
            logger.debug("dropped Raft messages to a slow or unreachable peer", metadata: ["remote-peer-id": "\(hex(remoteID))", "dropped": "\(dropped)"])
        }
    }

    /// Encodes and hands `messages` to the stream; returns how many were dropped.
    private func transmit(_ messages: [Message], on connection: LeanConnection, token: Int) -> Int {
        var dropped = 0
        for batch in Self.batches(messages, header: header, maxBytes: maxBatchBytes) {
            guard let framed = try? GRPCMessageBuffer.framed(batch) else {
                dropped += batch.messages.count
                continue
            }
            let size = framed.readableBytes
            guard unwritten.load(ordering: .relaxed) + size <= maxUnwrittenBytes else {
                dropped += batch.messages.count
                continue
            }
            unwritten.wrappingAdd(size, ordering: .relaxed)
            let written = connection.channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { [self] _ in unwritten.wrappingSubtract(size, ordering: .relaxed) }
            connection.send(token: token, framed: framed, written: written)
        }
        return dropped
    }

    /// Whether the Raft stream is open (messages go out at once rather than wait).
    var isRaftStreamOpen: Bool { stream.withLock { $0.connection != nil } }

    /// Bytes of Raft batches handed to the connection and not yet written to the socket.
    var unwrittenBytes: Int { unwritten.load(ordering: .relaxed) }

    /// The peer's URLs (in the order they are tried).
    var urls: [String] { link.withLock { $0 } }

    /// Points the connection at new URLs (member update).
    func update(urls: [String]) {
        link.withLock { $0 = urls }
        dropRaftConnection()
        dropCallConnection()
    }

    func close() {
        let connection = stream.withLock { stream -> LeanConnection? in
            stream.closed = true
            stream.pending = []
            defer { stream.connection = nil }
            return stream.connection
        }
        streamTask.withLock { $0?.cancel() }
        connection?.channel.close(promise: nil)
        dropCallConnection()
    }

    /// The connection for calls forwarded to this peer, connected on first use.
    func callConnection() async throws -> LeanConnection {
        if let existing = calls.withLock({ $0 }), existing.channel.isActive { return existing }
        guard let url = link.withLock({ $0.first }) else { throw PeerError.unknownPeer(remoteID) }
        let connection = try await dialer.connect(url)
        // Two callers may have connected at once: one connection is kept.
        let (kept, spare) = calls.withLock { current -> (LeanConnection, LeanConnection?) in
            if let existing = current, existing.channel.isActive { return (existing, connection) }
            current = connection
            return (connection, nil)
        }
        spare?.channel.close(promise: nil)
        return kept
    }

    private func dropCallConnection() {
        let connection = calls.withLock { current -> LeanConnection? in
            defer { current = nil }
            return current
        }
        connection?.channel.close(promise: nil)
    }

    /// Rotates to the peer's next URL after a failure (members may advertise several).
    private func rotate() {
        link.withLock { urls in
            if urls.count > 1 { urls.append(urls.removeFirst()) }
        }
    }

    private var header: Swetcdpb_PeerHeader {
        PeerIdentity(clusterID: clusterID(), from: localID, to: remoteID).header
    }

    private static let raftPath = "/" + Swetcdpb_Peer.Method.Raft.descriptor.fullyQualifiedMethod

    /// Keeps the Raft stream open: connects, sends what waited, and waits for the stream to
    /// end; on failure drops what is queued, reports the peer unreachable and tries again.
    private func runRaftStream() async {
        var backoff: Duration = .milliseconds(50)
        // A failure is logged at warning once, then at debug while it repeats.
        var lastFailure = ""
        while !Task.isCancelled {
            var openedAt: ContinuousClock.Instant?
            do {
                guard let url = link.withLock({ $0.first }) else { throw PeerError.unknownPeer(remoteID) }
                let connection = try await dialer.connect(url)
                let (token, responses) = connection.openStream(Self.raftPath)
                let opened = stream.withLock { stream -> Bool in
                    guard !stream.closed else { return false }
                    stream.connection = connection
                    stream.token = token
                    let waiting = stream.pending
                    stream.pending = []
                    _ = transmit(waiting, on: connection, token: token)
                    return true
                }
                guard opened else {
                    try? await connection.channel.close()
                    return
                }
                openedAt = .now
                // The receiver answers only to end the stream: at shutdown or to refuse it.
                for try await _ in responses {}
                throw LeanRPCError.unavailable("the peer ended the Raft stream")
            } catch {
                dropRaftConnection()
                if Task.isCancelled { return }
                // A stream that worked for a while starts the back-off over; one refused at
                // once (a TLS 1.3 server refuses a certificate after the client's handshake)
                // keeps growing it.
                if let openedAt, ContinuousClock.now - openedAt > .seconds(1) {
                    backoff = .milliseconds(50)
                    lastFailure = ""
                }
                if let refusal = error as? LeanRPCError, refusal.code == PeerService.removedMemberCode.rawValue {
                    handler.removedFromCluster()
                    return
                }
                handler.reportUnreachable(remoteID)
                let failure = "\(error)"
                logger.log(
                    level: failure == lastFailure ? .debug : .warning, "lost the Raft stream to a peer",
                    metadata: ["remote-peer-id": "\(hex(remoteID))", "error": "\(failure)"])
                lastFailure = failure
                rotate()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(1))
            }
        }
    }

    /// Forgets the Raft stream's connection (closing it), so the next messages wait for a new one.
    private func dropRaftConnection() {
        let connection = stream.withLock { stream -> LeanConnection? in
            stream.pending = []
            defer { stream.connection = nil }
            return stream.connection
        }
        connection?.channel.close(promise: nil)
    }

    /// Encodes messages into stream messages of at most about `maxBytes` each.
    static func batches(_ messages: [Message], header: Swetcdpb_PeerHeader, maxBytes: Int) -> [Swetcdpb_RaftBatch] {
        var batches: [Swetcdpb_RaftBatch] = []
        var current = Swetcdpb_RaftBatch()
        current.header = header
        var size = 0
        for message in messages {
            let encoded = Data(message.encoded())
            if size > 0 && size + encoded.count > maxBytes {
                batches.append(current)
                current.messages.removeAll()
                size = 0
            }
            current.messages.append(encoded)
            size += encoded.count
        }
        if !current.messages.isEmpty { batches.append(current) }
        return batches
    }

    private static let snapshotPath = "/" + Swetcdpb_Peer.Method.Snapshot.descriptor.fullyQualifiedMethod

    /// Streams a snapshot: the MsgSnap message, then the database file in chunks, on a
    /// connection of its own so that neither heartbeats nor forwarded calls wait behind it.
    /// Each chunk is on the socket before the next is read from the file.
    func sendSnapshot(_ message: Message, databasePath: String) async {
        let header = self.header
        do {
            guard let url = link.withLock({ $0.first }) else { throw PeerError.unknownPeer(remoteID) }
            guard let file = FileHandle(forReadingAtPath: databasePath) else { throw CocoaError(.fileNoSuchFile) }
            defer { try? file.close() }
            let connection = try await dialer.connect(url)
            defer { connection.channel.close(promise: nil) }
            let (token, responses) = connection.openStream(Self.snapshotPath)
            func write(_ chunk: Swetcdpb_SnapshotChunk) async throws {
                let written = connection.channel.eventLoop.makePromise(of: Void.self)
                connection.send(token: token, framed: try GRPCMessageBuffer.framed(chunk), written: written)
                try await written.futureResult.get()
            }
            var first = Swetcdpb_SnapshotChunk()
            first.header = header
            first.message = Data(message.encoded())
            try await write(first)
            while true {
                let data = try file.read(upToCount: 1 << 20) ?? Data()
                var chunk = Swetcdpb_SnapshotChunk()
                chunk.header = header
                chunk.data = data
                chunk.last = data.isEmpty
                try await write(chunk)
                if data.isEmpty { break }
            }
            connection.send(token: token, framed: nil)
            // The receiver answers once it installed (or refused) the snapshot.
            for try await _ in responses {}
            handler.reportSnapshot(to: remoteID, succeeded: true)
        } catch {
            logger.warning("failed to send a snapshot", metadata: ["remote-peer-id": "\(hex(remoteID))", "error": "\(error)"])
            handler.reportSnapshot(to: remoteID, succeeded: false)
        }
    }

    /// The host and port of an `http://host:port` URL (an IPv6 host without its brackets).
    static func hostPort(_ url: String) -> (host: String, port: Int)? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var authority = String(url[schemeEnd.upperBound...])
        if authority.hasSuffix("/") { authority.removeLast() }
        // MemberAdd takes any numeric port, as etcd does; one past 65535 is an unreachable peer.
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            return nil
        }
        var host = String(authority[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}

func hex(_ id: UInt64) -> String { String(id, radix: 16) }
