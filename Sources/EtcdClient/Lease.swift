import EtcdProto
import Foundation
import GRPCCore
import Synchronization

public struct LeaseGrantResponse: Sendable {
    public var raw: Etcdserverpb_LeaseGrantResponse
    public init(raw: Etcdserverpb_LeaseGrantResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    public var id: LeaseID { LeaseID(raw.id) }
    /// The TTL the server granted, in seconds.
    public var ttl: Int64 { raw.ttl }
}

public struct LeaseRevokeResponse: Sendable {
    public var raw: Etcdserverpb_LeaseRevokeResponse
    public var header: ResponseHeader { raw.header.native }
}

public struct LeaseTimeToLiveResponse: Sendable {
    public var raw: Etcdserverpb_LeaseTimeToLiveResponse
    public init(raw: Etcdserverpb_LeaseTimeToLiveResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    public var id: LeaseID { LeaseID(raw.id) }
    /// Seconds left; -1 if the lease does not exist (any more).
    public var ttl: Int64 { raw.ttl }
    /// The TTL it was granted with.
    public var grantedTTL: Int64 { raw.grantedTtl }
    /// The keys attached, if asked for.
    public var keys: [EtcdBytes] { raw.keys.map(EtcdBytes.init) }
}

public struct LeaseLeasesResponse: Sendable {
    public var raw: Etcdserverpb_LeaseLeasesResponse
    public init(raw: Etcdserverpb_LeaseLeasesResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    public var leases: [LeaseID] { raw.leases.map { LeaseID($0.id) } }
}

public struct LeaseKeepAliveResponse: Sendable {
    public var raw: Etcdserverpb_LeaseKeepAliveResponse
    public init(raw: Etcdserverpb_LeaseKeepAliveResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    public var id: LeaseID { LeaseID(raw.id) }
    /// The renewed TTL in seconds (0 or less: the lease is gone).
    public var ttl: Int64 { raw.ttl }
}

/// The lease service: time-limited grants that keys can be attached to.
///
/// ```swift
/// let lease = try await client.lease.grant(ttl: 10)
/// try await client.kv.put("service/a", "10.0.0.1", options: .init(lease: lease.id))
/// let keeper = Task {
///     for try await renewal in client.lease.keepAlive(lease.id) { print("ttl", renewal.ttl) }
/// }
/// // ... on shutdown:
/// keeper.cancel()
/// try await client.lease.revoke(lease.id)
/// ```
public struct Lease: Sendable {
    let pool: ConnectionPool

    /// Grants a lease of `ttl` seconds; `id` asks for a particular ID (default: the server picks).
    public func grant(ttl: Int64, id: LeaseID = .none, timeout: Duration? = nil) async throws -> LeaseGrantResponse {
        var request = Etcdserverpb_LeaseGrantRequest()
        request.ttl = ttl
        request.id = id.rawValue
        let raw = try await pool.unary(.idempotent, timeout: timeout) { connection, metadata, options in
            try await connection.lease.leaseGrant(request, metadata: metadata, options: options)
        }
        return LeaseGrantResponse(raw: raw)
    }

    /// Revokes a lease, deleting every key attached to it.
    @discardableResult
    public func revoke(_ id: LeaseID, timeout: Duration? = nil) async throws -> LeaseRevokeResponse {
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = id.rawValue
        let raw = try await pool.unary(.idempotent, timeout: timeout) { connection, metadata, options in
            try await connection.lease.leaseRevoke(request, metadata: metadata, options: options)
        }
        return LeaseRevokeResponse(raw: raw)
    }

    /// The lease's remaining and granted TTL, and optionally its keys.
    public func timeToLive(_ id: LeaseID, keys: Bool = false, timeout: Duration? = nil) async throws
        -> LeaseTimeToLiveResponse
    {
        var request = Etcdserverpb_LeaseTimeToLiveRequest()
        request.id = id.rawValue
        request.keys = keys
        let raw = try await pool.unary(.idempotent, timeout: timeout) { connection, metadata, options in
            try await connection.lease.leaseTimeToLive(request, metadata: metadata, options: options)
        }
        return LeaseTimeToLiveResponse(raw: raw)
    }

    /// Every live lease.
    public func leases(timeout: Duration? = nil) async throws -> LeaseLeasesResponse {
        let raw = try await pool.unary(.idempotent, timeout: timeout) { connection, metadata, options in
            try await connection.lease.leaseLeases(Etcdserverpb_LeaseLeasesRequest(), metadata: metadata, options: options)
        }
        return LeaseLeasesResponse(raw: raw)
    }

    /// Renews the lease once.
    public func keepAliveOnce(_ id: LeaseID, timeout: Duration? = nil) async throws -> LeaseKeepAliveResponse {
        var message = Etcdserverpb_LeaseKeepAliveRequest()
        message.id = id.rawValue
        let request = message
        let raw = try await pool.unary(.idempotent, timeout: timeout) { connection, metadata, options in
            try await connection.lease.leaseKeepAlive(
                request: StreamingClientRequest(metadata: metadata) { writer in try await writer.write(request) },
                options: options
            ) { response in
                for try await message in response.messages { return message }
                throw EtcdError.transport("keep-alive stream closed without an answer")
            }
        }
        if raw.ttl <= 0 { throw EtcdError(.leaseNotFound) }
        return LeaseKeepAliveResponse(raw: raw)
    }

    /// Keeps the lease alive: renews it every third of its TTL, over as many connections and
    /// endpoints as it takes, and delivers every renewal. It runs until the iterating task is
    /// cancelled (or the sequence dropped); it throws ``EtcdError/Kind/leaseExpired`` when the
    /// lease is gone (revoked, or not renewed within its TTL).
    public func keepAlive(_ id: LeaseID) -> LeaseKeepAliveStream {
        LeaseKeepAliveStream(pool: pool, id: id)
    }
}

/// The renewals of a lease kept alive; see ``Lease/keepAlive(_:)``.
public struct LeaseKeepAliveStream: AsyncSequence, Sendable {
    public typealias Element = LeaseKeepAliveResponse
    public typealias AsyncIterator = AsyncThrowingStream<LeaseKeepAliveResponse, any Error>.AsyncIterator

    private let stream: AsyncThrowingStream<LeaseKeepAliveResponse, any Error>

    init(pool: ConnectionPool, id: LeaseID) {
        let (stream, continuation) = AsyncThrowingStream<LeaseKeepAliveResponse, any Error>.makeStream()
        let task = Task { await KeepAliveLoop(pool: pool, id: id, output: continuation).run() }
        continuation.onTermination = { _ in task.cancel() }
        self.stream = stream
    }

    public func makeAsyncIterator() -> AsyncIterator { stream.makeAsyncIterator() }
}

private struct KeepAliveLoop {
    let pool: ConnectionPool
    let id: LeaseID
    let output: AsyncThrowingStream<LeaseKeepAliveResponse, any Error>.Continuation

    private final class State: Sendable {
        /// When the next renewal is due (set from each answer's TTL), and when the lease ends
        /// unless renewed.
        let value = Synchronization.Mutex((nextSend: ContinuousClock.Instant?.none, deadline: ContinuousClock.Instant?.none))
    }

    private enum End { case reconnect, expired }

    func run() async {
        let state = State()
        var failures = 0
        while !Task.isCancelled {
            if let deadline = state.value.withLock({ $0.deadline }), ContinuousClock.now > deadline {
                output.finish(throwing: EtcdError(.leaseExpired))
                return
            }
            guard let (index, connection) = pool.currentConnection(finishing: output) else { return }
            do {
                switch try await stream(on: connection, state: state) {
                case .expired:
                    output.finish(throwing: EtcdError(.leaseExpired))
                    return
                case .reconnect:
                    failures = 0
                    try? await Task.sleep(for: .milliseconds(100))
                }
            } catch {
                if Task.isCancelled { break }
                let mapped = EtcdError.from(error)
                if mapped.kind == .leaseNotFound {
                    output.finish(throwing: EtcdError(.leaseExpired))
                    return
                }
                if [.invalidAuthToken, .authOldRevision, .userEmpty].contains(mapped.kind) {
                    try? await pool.refreshToken(seenGeneration: -1, connection: connection, deadline: nil)
                } else if !ConnectionPool.shouldReconnectStream(after: error, mapped, on: connection) {
                    output.finish(throwing: mapped)
                    return
                }
                failures += 1
                pool.markFailed(index)
                try? await Task.sleep(for: .milliseconds(min(100 * (1 << min(failures, 4)), 1000)))
            }
        }
        output.finish(throwing: EtcdError(.canceled))
    }

    private func stream(on connection: Connection, state: State) async throws -> End {
        var message = Etcdserverpb_LeaseKeepAliveRequest()
        message.id = id.rawValue
        let request = message
        let streamingRequest = StreamingClientRequest<Etcdserverpb_LeaseKeepAliveRequest>(
            metadata: pool.metadata()
        ) { writer in
            while true {
                try await writer.write(request)
                // Wait for the answer to say when the next renewal is due (or 5 s without one).
                let sent = ContinuousClock.now
                state.value.withLock { $0.nextSend = nil }
                while true {
                    try await Task.sleep(for: .milliseconds(50))
                    let due = state.value.withLock { $0.nextSend } ?? sent + .seconds(5)
                    if ContinuousClock.now >= due { break }
                }
            }
        }
        let output = self.output
        return try await connection.lease.leaseKeepAlive(request: streamingRequest) { response in
            for try await message in response.messages {
                if message.ttl <= 0 { return .expired }
                state.value.withLock { value in
                    value.nextSend = ContinuousClock.now + .milliseconds(max(message.ttl * 1000 / 3, 100))
                    value.deadline = ContinuousClock.now + .seconds(message.ttl)
                }
                output.yield(LeaseKeepAliveResponse(raw: message))
            }
            return .reconnect
        }
    }
}
