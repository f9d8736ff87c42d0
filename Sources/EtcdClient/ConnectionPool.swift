import EtcdProto
import Foundation
import GRPCCore
import Synchronization
import SwiftProtobuf

/// Whether a request may be sent again after a failure whose outcome is unknown.
enum RetryPolicy: Sendable {
    /// Reads and other requests that change nothing (or nothing twice): retried on the next
    /// endpoint after transport errors and etcd's "unavailable" errors (no leader, ...).
    case idempotent
    /// Writes: retried only when the request surely never left the client.
    case mutation
}

/// The connections of one client, the endpoint in use, failover between endpoints, retries,
/// deadlines and the auth token.
final class ConnectionPool: Sendable {
    let endpoints: [Endpoint]
    let configuration: EtcdClient.Configuration
    private let state: Synchronization.Mutex<State>

    private struct State {
        var connections: [Endpoint: Connection] = [:]
        /// Index into `endpoints` of the endpoint requests go to.
        var current = 0
        var closed = false
        var token: String?
        /// Bumped whenever the token changes, so concurrent refreshes collapse into one.
        var tokenGeneration = 0
    }

    init(configuration: EtcdClient.Configuration) throws {
        guard !configuration.endpoints.isEmpty else {
            throw EtcdError(kind: .other, code: .invalidArgument, message: "etcdclient: no available endpoints")
        }
        endpoints = try configuration.endpoints.map(Endpoint.parse)
        self.configuration = configuration
        state = Synchronization.Mutex(State())
    }

    // MARK: - Connections

    /// The connection to `endpoint`, made on first use.
    func connection(to endpoint: Endpoint) throws -> Connection {
        try state.withLock { state in
            if state.closed { throw EtcdError(.clientClosed) }
            if let existing = state.connections[endpoint] { return existing }
            let made = try Connection(endpoint: endpoint, configuration: configuration)
            state.connections[endpoint] = made
            return made
        }
    }

    /// The endpoint requests currently go to, and its connection.
    func currentConnection() throws -> (index: Int, connection: Connection) {
        let index = state.withLock { $0.current }
        return (index, try connection(to: endpoints[index]))
    }

    /// The current connection for a streaming loop, or nil after finishing `output` with the
    /// error (the client is closed).
    func currentConnection<T>(finishing output: AsyncThrowingStream<T, any Error>.Continuation)
        -> (index: Int, connection: Connection)?
    {
        do {
            return try currentConnection()
        } catch {
            output.finish(throwing: EtcdError.from(error))
            return nil
        }
    }

    /// Whether a streaming call (watch, keep-alive) that failed with `error` should be opened
    /// again, on the next endpoint if need be.
    static func shouldReconnectStream(after error: any Error, _ mapped: EtcdError, on connection: Connection) -> Bool {
        isTransient(mapped) || mapped.kind == .deadlineExceeded
            || surelyNotSent(error, dialing: !connection.everConnected)
            || mapped.code == .unknown || mapped.code == .internalError
    }

    /// Moves on from endpoint `index` (unless someone else already did).
    func markFailed(_ index: Int) {
        state.withLock { state in
            if state.current == index { state.current = (index + 1) % endpoints.count }
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    func close() async {
        let connections = state.withLock { state -> [Connection] in
            state.closed = true
            defer { state.connections = [:] }
            return Array(state.connections.values)
        }
        for connection in connections { await connection.close() }
    }

    // MARK: - Metadata and auth

    /// Metadata for a call: the auth token, if any, and etcd's leader requirement.
    func metadata(requireLeader: Bool = false) -> Metadata {
        var metadata: Metadata = [:]
        if let token = state.withLock({ $0.token }) { metadata.addString(token, forKey: "token") }
        if requireLeader { metadata.addString("true", forKey: "hasleader") }
        return metadata
    }

    private var tokenGeneration: Int { state.withLock { $0.tokenGeneration } }

    /// Fetches a token with the configured credentials (at most once for concurrent callers
    /// that saw the same old token).
    func refreshToken(seenGeneration: Int, connection: Connection, deadline: ContinuousClock.Instant?) async throws {
        guard let credentials = configuration.credentials else { return }
        if tokenGeneration != seenGeneration { return }
        var request = Etcdserverpb_AuthenticateRequest()
        request.name = credentials.username
        request.password = credentials.password
        var options = CallOptions.defaults
        if let deadline { options.timeout = max(.milliseconds(1), deadline - .now) }
        do {
            let response = try await connection.auth.authenticate(request, options: options)
            state.withLock { state in
                state.token = response.token
                state.tokenGeneration += 1
            }
        } catch {
            let mapped = EtcdError.from(error)
            if mapped.kind == .authNotEnabled {
                // Nothing to authenticate against: go on without a token.
                state.withLock { state in
                    state.token = nil
                    state.tokenGeneration += 1
                }
                return
            }
            throw mapped
        }
    }

    /// Authenticates now with the configured credentials; throws what the server answered
    /// (``EtcdError/Kind/authNotEnabled`` included, after which the client goes on without a
    /// token).
    func authenticateNow(timeout: Duration) async throws {
        guard let credentials = configuration.credentials else { return }
        let deadline = ContinuousClock.now + timeout
        var request = Etcdserverpb_AuthenticateRequest()
        request.name = credentials.username
        request.password = credentials.password
        let token: String?
        do {
            token = try await unary(.mutation, timeout: timeout, skipAuth: true) { connection, _, options in
                try await connection.auth.authenticate(request, options: options).token
            }
        } catch let error as EtcdError where error.kind == .authNotEnabled {
            state.withLock { state in
                state.token = nil
                state.tokenGeneration += 1
            }
            throw error
        }
        _ = deadline
        state.withLock { state in
            state.token = token
            state.tokenGeneration += 1
        }
    }

    /// Whether the client should authenticate before its first call.
    var needsInitialToken: Bool {
        configuration.credentials != nil && state.withLock { $0.tokenGeneration == 0 }
    }

    /// Refuses a request larger than ``EtcdClient/Configuration/maxRequestBytes`` before it
    /// is sent, with gRPC's status and wording.
    func checkSize(_ message: some SwiftProtobuf.Message) throws {
        let size = (try? message.serializedBytes() as [UInt8])?.count ?? 0
        if size > configuration.maxRequestBytes {
            throw EtcdError(code: .resourceExhausted,
                            message: "trying to send message larger than max (\(size) vs. \(configuration.maxRequestBytes))")
        }
    }

    // MARK: - Unary calls with failover and retry

    /// Runs a unary call against the current endpoint (or `endpoint`, pinned), moving to the
    /// next endpoint and retrying as `policy` allows, within `timeout` (default: the
    /// configuration's request timeout).
    func unary<Response: Sendable>(
        _ policy: RetryPolicy,
        timeout: Duration? = nil,
        endpoint pinned: Endpoint? = nil,
        requireLeader: Bool = false,
        skipAuth: Bool = false,
        _ call: (Connection, Metadata, CallOptions) async throws -> Response
    ) async throws -> Response {
        let clock = ContinuousClock()
        let total = timeout ?? configuration.requestTimeout
        let deadline = total.map { clock.now + $0 }
        var attempt = 0
        var refreshes = 0
        var lastError: EtcdError?

        while true {
            try Task.checkCancellation()
            if let deadline, clock.now >= deadline {
                throw lastError.flatMap { Self.isTransient($0) ? nil : $0 } ?? EtcdError(.deadlineExceeded)
            }
            let index: Int
            let connection: Connection
            if let pinned {
                index = -1
                connection = try self.connection(to: pinned)
            } else {
                (index, connection) = try currentConnection()
            }
            let dialing = !connection.everConnected
            var options = CallOptions.defaults
            options.maxResponseMessageBytes = configuration.maxResponseBytes
            options.maxRequestMessageBytes = configuration.maxRequestBytes
            var attemptLimit = deadline.map { $0 - clock.now }
            if dialing {
                attemptLimit = min(attemptLimit ?? configuration.dialTimeout, configuration.dialTimeout)
            }
            if let attemptLimit { options.timeout = max(attemptLimit, .milliseconds(1)) }

            do {
                if !skipAuth && needsInitialToken {
                    try await refreshToken(seenGeneration: 0, connection: connection, deadline: deadline)
                }
                let generation = tokenGeneration
                do {
                    return try await call(connection, metadata(requireLeader: requireLeader), options)
                } catch {
                    let mapped = EtcdError.from(error)
                    if !skipAuth, configuration.credentials != nil, refreshes < 2,
                       [.invalidAuthToken, .authOldRevision, .userEmpty].contains(mapped.kind)
                    {
                        refreshes += 1
                        try await refreshToken(seenGeneration: generation, connection: connection, deadline: deadline)
                        continue
                    }
                    throw error
                }
            } catch {
                let mapped = EtcdError.from(error)
                if mapped.kind == .canceled, Task.isCancelled { throw mapped }
                let notSent = Self.surelyNotSent(error, dialing: dialing && !connection.everConnected)
                let transient = notSent || Self.isTransient(mapped)
                guard transient else { throw mapped }
                lastError = mapped
                if pinned == nil { markFailed(index) }
                let retry = notSent || (policy == .idempotent && configuration.retryIdempotentRequests)
                guard retry else { throw mapped }
                attempt += 1
                // A full round over the endpoints without a pause, then back off a little.
                if attempt % max(endpoints.count, 1) == 0 {
                    let pause = Duration.milliseconds(min(50 * attempt, 500))
                    if let deadline, clock.now + pause >= deadline {
                        throw Self.isTransient(mapped) ? EtcdError(.deadlineExceeded) : mapped
                    }
                    try await Task.sleep(for: pause)
                }
            }
        }
    }

    /// Errors after which another endpoint may do better: transport failures and etcd's
    /// "unavailable" answers (no leader, leader changed, stopping, timed out).
    static func isTransient(_ error: EtcdError) -> Bool {
        switch error.code {
        case .unavailable: return true
        default: return false
        }
    }

    /// True when the request cannot have reached a server: the channel refused it before
    /// opening a stream, or the connection was never established.
    static func surelyNotSent(_ error: any Error, dialing: Bool) -> Bool {
        if dialing {
            if let rpc = error as? RPCError, rpc.code == .unavailable || rpc.code == .deadlineExceeded { return true }
        }
        guard let rpc = error as? RPCError, rpc.code == .unavailable else { return false }
        return rpc.message.hasPrefix("Channel is in a transient failure state")
            || rpc.message.hasPrefix("Channel isn't ready")
            || rpc.message.hasPrefix("channel is shutdown")
    }
}

extension EtcdError {
    /// A transport failure, as an `unavailable` error.
    static func transport(_ message: String) -> EtcdError {
        EtcdError(kind: .unavailable, code: .unavailable, message: message)
    }
}
