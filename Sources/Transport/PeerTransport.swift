import EtcdProto
import EtcdTLS
import GRPCCore
import LeanGRPC
import Logging
import NIOCore
import NIOPosix
import Raft
import Synchronization

/// Member-to-member traffic: Raft messages and snapshots out to every peer, the Peer service
/// in on `--listen-peer-urls`, and calls forwarded to a given member.
public final class PeerTransport: Sendable {
    public let localID: UInt64
    private let cluster = ClusterIdentity()
    private let handler: any PeerHandler
    private let dialer: PeerDialer
    private let listenerTLS: ReloadingTLSContext?
    private let logger: Logger
    private let peers = Mutex<[UInt64: PeerConnection]>([:])

    /// A transport for member `localID`, dialling peers with `dialer`; `https://` listeners
    /// present and check with `listenerTLS`.
    public init(
        localID: UInt64, clusterID: UInt64, handler: any PeerHandler, dialer: PeerDialer = PeerDialer(tls: nil),
        listenerTLS: ReloadingTLSContext? = nil, logger: Logger
    ) {
        self.localID = localID
        cluster.set(clusterID)
        self.handler = handler
        self.dialer = dialer
        self.listenerTLS = listenerTLS
        self.logger = logger
    }

    /// The cluster this member belongs to (0 until a joining member learned it).
    public var clusterID: UInt64 { cluster.value }

    /// Serves the Peer service on `host:port` until the task is cancelled, `forwarded`
    /// answering the calls other members forward to this one; `onBound` runs once the
    /// address is bound. A `secure` listener speaks only TLS and refuses, at the handshake,
    /// a certificate that fails the peer port's checks.
    public func serve(
        host: String, port: Int, secure: Bool = false, forwarded: any ForwardedCallHandler,
        onBound: @escaping @Sendable () -> Void
    ) async throws {
        let tls = secure ? listenerTLS : nil
        if secure && tls == nil { throw PeerError.noPeerTLS("https://\(host):\(port)") }
        let service = PeerService(
            localID: localID, clusterID: { [cluster] in cluster.value }, handler: handler, forwarded: forwarded, logger: logger,
            isKnownPeer: { [weak self] id in self?.isKnownPeer(id) ?? false },
            isKnownPeerURLs: { [weak self] urls in self?.isKnownPeer(urls: urls) ?? false })
        let routes = try service.routes()
        let connections = OpenConnections()
        let logger = self.logger
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    connections.add(channel)
                    if let tls { try channel.pipeline.syncOperations.addHandlers(tls.serverHandlers(endpoint: "peer", logger: logger)) }
                    try channel.pipeline.syncOperations.addHandlers(
                        GRPCServerConnection.handlers(
                            on: channel, routes: routes, maxMessageBytes: Self.maxMessageBytes, admit: { service.admit($0) }))
                }
            }
            .bind(host: host == "localhost" ? "127.0.0.1" : host, port: port).get()
        onBound()
        try await withTaskCancellationHandler {
            try await listener.closeFuture.get()
        } onCancel: {
            listener.close(promise: nil)
            connections.closeAll()
        }
    }

    /// The largest message a member accepts from another (snapshot chunks are 1 MiB; a
    /// batch of Raft messages at most about 8 MiB).
    static let maxMessageBytes = 64 << 20

    /// Starts (or updates) the link to a member.
    public func addPeer(_ id: UInt64, urls: [String]) {
        guard id != localID else { return }
        let existing = peers.withLock { $0[id] }
        if let existing {
            existing.update(urls: urls)
            return
        }
        let connection = PeerConnection(
            localID: localID, remoteID: id, urls: urls, clusterID: { [cluster] in cluster.value },
            handler: handler, dialer: dialer, logger: logger)
        peers.withLock { $0[id] = connection }
    }

    /// Whether member `id` is linked to (a current member of the cluster).
    func isKnownPeer(_ id: UInt64) -> Bool {
        peers.withLock { $0[id] != nil }
    }

    /// Whether a linked member has exactly these peer URLs.
    func isKnownPeer(urls: [String]) -> Bool {
        let wanted = Set(urls)
        return peers.withLock { Array($0.values) }.contains { Set($0.urls) == wanted }
    }

    public func removePeer(_ id: UInt64) {
        peers.withLock { $0.removeValue(forKey: id) }?.close()
    }

    /// Sends Raft messages to their recipients (snapshots go through `sendSnapshot`).
    public func send(_ messages: [Message]) {
        guard !messages.isEmpty else { return }
        var byPeer: [UInt64: [Message]] = [:]
        for message in messages { byPeer[message.to, default: []].append(message) }
        let connections = peers.withLock { $0 }
        for (id, batch) in byPeer {
            if let connection = connections[id] {
                connection.send(batch)
            } else {
                handler.reportUnreachable(id)
            }
        }
    }

    /// Sends a snapshot message with the database file at `databasePath`; returns once it
    /// was delivered or failed (the outcome is reported to the handler).
    public func sendSnapshot(_ message: Message, databasePath: String) async {
        guard let connection = peers.withLock({ $0[message.to] }) else {
            handler.reportSnapshot(to: message.to, succeeded: false)
            return
        }
        await connection.sendSnapshot(message, databasePath: databasePath)
    }

    /// Peer calls to member `id` (to forward lease calls to the leader), made as this member.
    public func peerClient(_ id: UInt64) async throws -> PeerClient {
        guard let connection = peers.withLock({ $0[id] }) else { throw PeerError.unknownPeer(id) }
        return PeerClient(
            connection: try await connection.callConnection(),
            identity: PeerIdentity(clusterID: clusterID, from: localID, to: id))
    }

    /// Fetches the membership from any of `urls`, as the member added with `peerURLs` (used
    /// to join a running cluster); each URL gets `timeout` to answer.
    public static func fetchMembers(
        from urls: [String], joiningWith peerURLs: [String], dialer: PeerDialer = PeerDialer(tls: nil),
        timeout: Duration = .seconds(5)
    ) async throws -> Swetcdpb_MembersResponse {
        var lastError: (any Error)?
        for url in urls {
            do {
                let connection = try await dialer.connect(url)
                defer { connection.channel.close(promise: nil) }
                let client = PeerClient(connection: connection, identity: PeerIdentity(joiningWith: peerURLs))
                return try await withThrowingTaskGroup(of: Swetcdpb_MembersResponse?.self) { group in
                    group.addTask { try await client.members() }
                    group.addTask {
                        try await Task.sleep(for: timeout)
                        return nil
                    }
                    defer { group.cancelAll() }
                    guard let members = try await group.next() ?? nil else {
                        // Closing the connection ends the call still waiting.
                        connection.channel.close(promise: nil)
                        throw LeanRPCError(code: 4, message: "no membership from \(url) within \(timeout)")
                    }
                    return members
                }
            } catch {
                lastError = error
            }
        }
        throw lastError ?? PeerError.unknownPeer(0)
    }

    public func stop() {
        let all = peers.withLock { peers in
            defer { peers.removeAll() }
            return Array(peers.values)
        }
        for connection in all { connection.close() }
    }
}

/// The cluster ID, shared with the connections (a joining member learns it late).
final class ClusterIdentity: Sendable {
    private let id = Atomic<UInt64>(0)
    var value: UInt64 { id.load(ordering: .acquiring) }
    func set(_ value: UInt64) { id.store(value, ordering: .releasing) }
}
