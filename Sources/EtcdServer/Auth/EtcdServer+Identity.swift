import Auth
import EtcdProto

/// Who a request runs as: its credentials resolved against the auth state.
extension EtcdServer {
    /// The identity `credentials` establish (nil while auth is disabled: everything is
    /// allowed). A simple token issued by another member moments ago may not be applied
    /// here yet: that waits for a ReadIndex round before the token is judged.
    func identify(_ credentials: Credentials, completion: @escaping @Sendable (Result<AuthInfo?, EtcdError>) -> Void) {
        if let known = identifyNow(credentials) { return completion(known) }
        linearizableReadBarrier { [self] error in
            if let error { return completion(.failure(error)) }
            completion(identifyNow(credentials) ?? .failure(EtcdError(kind: .invalidAuthToken)))
        }
    }

    /// `identify`, awaited.
    func identify(_ credentials: Credentials) async throws(EtcdError) -> AuthInfo? {
        try await completion { identify(credentials, completion: $0) }
    }

    /// The identity, or nil when it depends on a log entry this member has not applied yet.
    private func identifyNow(_ credentials: Credentials) -> Result<AuthInfo?, EtcdError>? {
        let state = auth.state
        guard state.enabled else { return .success(nil) }
        if var token = credentials.token, !token.isEmpty {
            if token.hasPrefix("Bearer ") { token.removeFirst("Bearer ".count) }
            switch tokens {
            case .jwt(let jwt):
                guard let claims = jwt.verify(token) else { return .failure(EtcdError(kind: .invalidAuthToken)) }
                return .success(AuthInfo(username: claims.username, revision: claims.revision))
            case .none:
                return .failure(EtcdError(kind: .invalidAuthToken))
            case .simple:
                if let user = auth.tokens.user(of: token) { return .success(AuthInfo(username: user, revision: state.revision)) }
                if let index = SimpleTokens.index(of: token), index > raft.appliedIndex { return nil }
                return .failure(EtcdError(kind: .invalidAuthToken))
            }
        }
        if config.clientTLS.clientCertAuth, let name = credentials.certificateName, !name.isEmpty {
            return .success(AuthInfo(username: name, revision: state.revision))
        }
        return .success(AuthInfo(username: "", revision: 0))
    }

    /// Refuses unless the caller holds the root role (etcd's admin-only calls).
    public func requireAdmin(_ credentials: Credentials) async throws(EtcdError) {
        let info = try await identify(credentials)
        do { try auth.state.checkAdmin(info) } catch { throw EtcdError(error) }
    }

    /// Refuses a caller without any identity once auth is enabled.
    public func requireIdentity(_ credentials: Credentials) async throws(EtcdError) {
        let info = try await identify(credentials)
        do { try auth.state.checkIdentified(info) } catch { throw EtcdError(error) }
    }

    /// The keys attached to a lease, for permission checks.
    var leaseKeys: @Sendable (Int64) -> [[UInt8]] {
        { [lessor] id in lessor.lookup(id)?.keys ?? [] }
    }
}
