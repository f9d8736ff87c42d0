import Auth
import EtcdProto
import MVCC

/// The KV service.
///
/// Each request comes in two forms: `async`, and with a completion for callers that avoid a
/// task per request (the gRPC server). Completions of writes run on the thread that applied
/// them; reads run wherever the caller's `scheduleRead` puts them, once a linearizable read
/// may proceed (serializable reads run at once, on the caller's thread). Each takes the
/// caller's credentials; reads are checked against the auth state when they run, writes
/// when they are applied.
extension EtcdServer {
    /// Where a read runs: the function is handed the read and runs it, now or later.
    public typealias ReadScheduler = @Sendable (@escaping @Sendable () -> Void) -> Void

    /// A Range, linearizable unless `serializable` is set.
    public func range(_ request: Etcdserverpb_RangeRequest, as caller: Credentials = .none) async throws(EtcdError) -> Etcdserverpb_RangeResponse {
        try await completion { range(request, as: caller, scheduleRead: { $0() }, completion: $0) }
    }

    /// A Range, answered through `completion`.
    public func range(
        _ request: Etcdserverpb_RangeRequest, as caller: Credentials = .none, scheduleRead: @escaping ReadScheduler,
        completion: @escaping @Sendable (Result<Etcdserverpb_RangeResponse, EtcdError>) -> Void
    ) {
        do {
            if !request.serializable { try requireVoter() }
            try RequestValidation.check(request)
        } catch {
            return completion(.failure(error))
        }
        metrics.ranges.increment()
        identify(caller) { [self] identity in
            guard case .success(let info) = identity else { return completion(identity.map { _ in Etcdserverpb_RangeResponse() }) }
            read(linearizable: !request.serializable, scheduleRead: scheduleRead, completion: completion) { [self] view throws(EtcdError) in
                try permitted { state throws(AuthError) in try RequestAuthorization.checkRange(request, as: info, in: state) }
                var response = try kv.range(request, in: view)
                fill(&response.header)
                return response
            }
        }
    }

    /// Runs an auth check against the current state, refusing as the client sees it.
    func permitted(_ check: (AuthState) throws(AuthError) -> Void) throws(EtcdError) {
        let state = auth.state
        guard state.enabled else { return }
        do { try check(state) } catch { throw EtcdError(error) }
    }

    /// A Put, answered once applied.
    public func put(_ request: Etcdserverpb_PutRequest, as caller: Credentials = .none) async throws(EtcdError) -> Etcdserverpb_PutResponse {
        try await completion { put(request, as: caller, completion: $0) }
    }

    /// A Put, answered through `completion` on the thread that applied it.
    public func put(
        _ request: Etcdserverpb_PutRequest, as caller: Credentials = .none,
        completion: @escaping @Sendable (Result<Etcdserverpb_PutResponse, EtcdError>) -> Void
    ) {
        write(.put(request), counted: metrics.puts, as: caller, completion: completion) { () throws(EtcdError) in
            try RequestValidation.check(request)
        }
    }

    /// A DeleteRange, answered once applied.
    public func deleteRange(
        _ request: Etcdserverpb_DeleteRangeRequest, as caller: Credentials = .none
    ) async throws(EtcdError) -> Etcdserverpb_DeleteRangeResponse {
        try await completion { deleteRange(request, as: caller, completion: $0) }
    }

    /// A DeleteRange, answered through `completion` on the thread that applied it.
    public func deleteRange(
        _ request: Etcdserverpb_DeleteRangeRequest, as caller: Credentials = .none,
        completion: @escaping @Sendable (Result<Etcdserverpb_DeleteRangeResponse, EtcdError>) -> Void
    ) {
        write(.deleteRange(request), counted: metrics.deletes, as: caller, completion: completion) { () throws(EtcdError) in
            try RequestValidation.check(request)
        }
    }

    /// A Txn: read-only ones are served as reads, the others through the log.
    public func txn(_ request: Etcdserverpb_TxnRequest, as caller: Credentials = .none) async throws(EtcdError) -> Etcdserverpb_TxnResponse {
        try await completion { txn(request, as: caller, scheduleRead: { $0() }, completion: $0) }
    }

    /// A Txn, answered through `completion`.
    public func txn(
        _ request: Etcdserverpb_TxnRequest, as caller: Credentials = .none, scheduleRead: @escaping ReadScheduler,
        completion: @escaping @Sendable (Result<Etcdserverpb_TxnResponse, EtcdError>) -> Void
    ) {
        let check = { [config] () throws(EtcdError) in try RequestValidation.check(request, maxTxnOps: config.maxTxnOps) }
        guard KVApplier.isReadOnly(request) else {
            return write(.txn(request), counted: metrics.txns, as: caller, completion: completion, check: check)
        }
        do {
            try requireVoter()
            try check()
        } catch {
            return completion(.failure(error))
        }
        metrics.txns.increment()
        identify(caller) { [self] identity in
            guard case .success(let info) = identity else { return completion(identity.map { _ in Etcdserverpb_TxnResponse() }) }
            read(linearizable: !KVApplier.isSerializable(request), scheduleRead: scheduleRead, completion: completion) {
                [self] view throws(EtcdError) in
                try permitted { state throws(AuthError) in
                    try RequestAuthorization.checkTxn(request, as: info, in: state, leaseKeys: leaseKeys)
                }
                var response = try kv.txn(request, view: view, writer: nil)
                fill(&response.header)
                return response
            }
        }
    }

    /// A Compaction, answered once applied.
    public func compact(
        _ request: Etcdserverpb_CompactionRequest, as caller: Credentials = .none
    ) async throws(EtcdError) -> Etcdserverpb_CompactionResponse {
        try requireVoter()
        return try await proposed(.compaction(request), as: caller)
    }
}
