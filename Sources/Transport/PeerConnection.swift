import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LeanGRPC
import Logging
import NIOCore
import Raft
import Synchronization

/// The outgoing side of the link to one peer. Raft messages go on one long-lived stream
/// over LeanGRPC's client (no task or async sequence per batch: the Raft thread encodes a
/// batch and hands it to the connection's event loop), reconnected with back-off; snapshots
/// and forwarded requests use a grpc-swift client of their own, so heartbeats never queue
/// behind a snapshot.
final class PeerConnection: Sendable {
    let remoteID: UInt64
    private let localID: UInt64
    private let clusterID: @Sendable () -> UInt64
    private let handler: any PeerHandler
    private let logger: Logger
    private struct Link {
        var urls: [String]
        var client: GRPCClient<HTTP2ClientTransport.Posix>?
        var running: Task<Void, Never>?
    }
    private let link: Mutex<Link>

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
        handler: any PeerHandler, logger: Logger, maxUnwrittenBytes: Int = 64 << 20
    ) {
        self.localID = localID
        self.remoteID = remoteID
        self.clusterID = clusterID
        self.handler = handler
        self.logger = logger
        self.maxUnwrittenBytes = maxUnwrittenBytes
        link = Mutex(Link(urls: urls))
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
    var urls: [String] { link.withLock { $0.urls } }

    /// Points the connection at new URLs (member update).
    func update(urls: [String]) {
        let old = link.withLock { link -> GRPCClient<HTTP2ClientTransport.Posix>? in
            link.urls = urls
            defer { link.client = nil }
            return link.client
        }
        old?.beginGracefulShutdown()
        dropRaftConnection()
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
        let client = link.withLock { link -> GRPCClient<HTTP2ClientTransport.Posix>? in
            defer { link.client = nil }
            return link.client
        }
        client?.beginGracefulShutdown()
    }

    /// The client for the peer's current URL, made on first use.
    func client() throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        try link.withLock { link in
            if let client = link.client { return client }
            guard let url = link.urls.first, let target = Self.target(url) else { throw PeerError.unknownPeer(remoteID) }
            let client = GRPCClient(transport: try .http2NIOPosix(target: target, transportSecurity: .plaintext))
            link.running = Task { try? await client.runConnections() }
            link.client = client
            return client
        }
    }

    /// Rotates to the peer's next URL after a failure (members may advertise several).
    private func rotate() {
        let old = link.withLock { link -> GRPCClient<HTTP2ClientTransport.Posix>? in
            if link.urls.count > 1 { link.urls.append(link.urls.removeFirst()) }
            defer { link.client = nil }
            return link.client
        }
        old?.beginGracefulShutdown()
    }

    private var header: Swetcdpb_PeerHeader {
        PeerIdentity(clusterID: clusterID(), from: localID, to: remoteID).header
    }

    static var callOptions: CallOptions {
        var options = CallOptions.defaults
        // Fail at once when the peer is down, so Raft hears it is unreachable.
        options.waitForReady = false
        return options
    }

    private static let raftPath = "/" + Swetcdpb_Peer.Method.Raft.descriptor.fullyQualifiedMethod

    /// Keeps the Raft stream open: connects, sends what waited, and waits for the stream to
    /// end; on failure drops what is queued, reports the peer unreachable and tries again.
    private func runRaftStream() async {
        var backoff: Duration = .milliseconds(50)
        while !Task.isCancelled {
            do {
                guard let url = link.withLock({ $0.urls.first }), let address = Self.hostPort(url) else {
                    throw PeerError.unknownPeer(remoteID)
                }
                let connection = try await LeanConnection.connect(host: address.host, port: address.port)
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
                backoff = .milliseconds(50)
                // The receiver answers only to end the stream: at shutdown or to refuse it.
                for try await _ in responses {}
                throw LeanRPCError.unavailable("the peer ended the Raft stream")
            } catch {
                dropRaftConnection()
                if Task.isCancelled { return }
                if let refusal = error as? LeanRPCError, refusal.code == PeerService.removedMemberCode.rawValue {
                    handler.removedFromCluster()
                    return
                }
                handler.reportUnreachable(remoteID)
                logger.debug("lost the Raft stream to a peer", metadata: ["remote-peer-id": "\(hex(remoteID))", "error": "\(error)"])
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

    /// Streams a snapshot: the MsgSnap message, then the database file in chunks.
    func sendSnapshot(_ message: Message, databasePath: String) async {
        let header = self.header
        do {
            let peer = Swetcdpb_Peer.Client(wrapping: try client())
            _ = try await peer.snapshot(options: Self.callOptions) { writer in
                guard let file = FileHandle(forReadingAtPath: databasePath) else {
                    throw CocoaError(.fileNoSuchFile)
                }
                defer { try? file.close() }
                var first = Swetcdpb_SnapshotChunk()
                first.header = header
                first.message = Data(message.encoded())
                try await writer.write(first)
                while true {
                    let data = try file.read(upToCount: 1 << 20) ?? Data()
                    var chunk = Swetcdpb_SnapshotChunk()
                    chunk.header = header
                    chunk.data = data
                    chunk.last = data.isEmpty
                    try await writer.write(chunk)
                    if data.isEmpty { break }
                }
            }
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

    /// `http://host:port` as a gRPC target.
    static func target(_ url: String) -> (any ResolvableTarget)? {
        guard let (host, port) = hostPort(url) else { return nil }
        if host.contains(":") { return .ipv6(address: host, port: port) }
        if host.split(separator: ".").count == 4, host.allSatisfy({ $0.isNumber || $0 == "." }) {
            return .ipv4(address: host, port: port)
        }
        return .dns(host: host, port: port)
    }
}

func hex(_ id: UInt64) -> String { String(id, radix: 16) }
