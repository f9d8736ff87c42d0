import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import Raft
import Synchronization

/// The outgoing side of the link to one peer: a gRPC client on the peer's URL, one long-lived
/// stream of Raft message batches, reconnection with back-off, and separate calls for
/// snapshots and forwarded requests (so heartbeats never queue behind a snapshot).
final class PeerConnection: Sendable {
    let remoteID: UInt64
    private let localID: UInt64
    private let clusterID: @Sendable () -> UInt64
    private let handler: any PeerHandler
    private let logger: Logger
    private let queue = MessageQueue()
    private struct Link {
        var urls: [String]
        var client: GRPCClient<HTTP2ClientTransport.Posix>?
        var running: Task<Void, Never>?
    }
    private let link: Mutex<Link>
    private let sender = Mutex<Task<Void, Never>?>(nil)
    /// Largest batch put in one stream message; bigger ones are split.
    private let maxBatchBytes = 8 << 20

    init(
        localID: UInt64, remoteID: UInt64, urls: [String], clusterID: @escaping @Sendable () -> UInt64,
        handler: any PeerHandler, logger: Logger
    ) {
        self.localID = localID
        self.remoteID = remoteID
        self.clusterID = clusterID
        self.handler = handler
        self.logger = logger
        link = Mutex(Link(urls: urls))
        let task = Task { [weak self] in
            guard let self else { return }
            await self.runSender()
        }
        sender.withLock { $0 = task }
    }

    /// Queues messages for the peer; never blocks.
    func send(_ messages: [Message]) {
        let dropped = queue.append(messages)
        if dropped > 0 {
            logger.debug("dropped Raft messages to a slow or unreachable peer", metadata: ["remote-peer-id": "\(hex(remoteID))", "dropped": "\(dropped)"])
        }
    }

    /// Points the connection at new URLs (member update).
    func update(urls: [String]) {
        let old = link.withLock { link -> GRPCClient<HTTP2ClientTransport.Posix>? in
            link.urls = urls
            defer { link.client = nil }
            return link.client
        }
        old?.beginGracefulShutdown()
    }

    func close() {
        queue.close()
        sender.withLock { $0?.cancel() }
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
        var header = Swetcdpb_PeerHeader()
        header.clusterID = clusterID()
        header.from = localID
        header.to = remoteID
        return header
    }

    static var callOptions: CallOptions {
        var options = CallOptions.defaults
        // Fail at once when the peer is down, so Raft hears it is unreachable.
        options.waitForReady = false
        return options
    }

    private func runSender() async {
        var backoff: Duration = .milliseconds(50)
        while !Task.isCancelled {
            do {
                let peer = Swetcdpb_Peer.Client(wrapping: try client())
                let header = self.header
                let queue = self.queue
                let maxBatchBytes = self.maxBatchBytes
                _ = try await peer.raft(options: Self.callOptions) { writer in
                    while let messages = await queue.takeAll() {
                        for batch in Self.batches(messages, header: header, maxBytes: maxBatchBytes) {
                            try await writer.write(batch)
                        }
                    }
                }
                return
            } catch {
                if Task.isCancelled { return }
                if let refusal = error as? RPCError, refusal.code == PeerService.removedMemberCode {
                    handler.removedFromCluster()
                    return
                }
                queue.clear()
                handler.reportUnreachable(remoteID)
                logger.debug("lost the Raft stream to a peer", metadata: ["remote-peer-id": "\(hex(remoteID))", "error": "\(error)"])
                rotate()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(1))
            }
        }
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

    /// `http://host:port` as a gRPC target.
    static func target(_ url: String) -> (any ResolvableTarget)? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var authority = String(url[schemeEnd.upperBound...])
        if authority.hasSuffix("/") { authority.removeLast() }
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) else {
            return nil
        }
        var host = String(authority[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            return .ipv6(address: host, port: port)
        }
        if host.split(separator: ".").count == 4, host.allSatisfy({ $0.isNumber || $0 == "." }) {
            return .ipv4(address: host, port: port)
        }
        return .dns(host: host, port: port)
    }
}

func hex(_ id: UInt64) -> String { String(id, radix: 16) }
