import Auth
import EtcdProto
import Metrics
import MVCC

/// The plumbing every request goes through: proposing to the log and waiting for the entry
/// to be applied, or waiting at the ReadIndex barrier before a linearizable read.
extension EtcdServer {
    /// The shape of every client write: refused by a learner or by `check`, counted, its
    /// caller identified and refused early without the permissions it needs (every member
    /// checks them again when applying), proposed, and answered with the applied response,
    /// its header filled.
    func write<Response: AppliedResponse>(
        _ request: Swetcdpb_InternalRequest.OneOf_Request, counted counter: Counter, as caller: Credentials,
        completion: @escaping @Sendable (Result<Response, EtcdError>) -> Void, check: () throws(EtcdError) -> Void
    ) {
        do {
            try requireVoter()
            try check()
        } catch {
            return completion(.failure(error))
        }
        counter.increment()
        authorized(request, as: caller) { [self] identity in
            switch identity {
            case .failure(let error): completion(.failure(error))
            case .success(let info): propose(request, as: info) { [self] result in completion(result.flatMap(response)) }
            }
        }
    }

    /// Identifies the caller and checks it may make `request` under the current auth state.
    func authorized(
        _ request: Swetcdpb_InternalRequest.OneOf_Request, as caller: Credentials,
        _ next: @escaping @Sendable (Result<AuthInfo?, EtcdError>) -> Void
    ) {
        identify(caller) { [self] identity in
            next(identity.flatMap { info -> Result<AuthInfo?, EtcdError> in
                do throws(AuthError) {
                    try RequestAuthorization.check(request, as: info, in: auth.state, leaseKeys: leaseKeys)
                    return .success(info)
                } catch {
                    return .failure(EtcdError(error))
                }
            })
        }
    }

    /// Proposes `request` for `caller` and waits for its applied response, its header filled.
    func proposed<Response: AppliedResponse>(
        _ request: Swetcdpb_InternalRequest.OneOf_Request, as caller: Credentials
    ) async throws(EtcdError) -> Response {
        let info = try await completion { authorized(request, as: caller, $0) }
        let applied = try await propose(request, as: info)
        return try response(applied).get()
    }

    /// The response of the kind the caller expects in an apply result, header filled.
    func response<Response: AppliedResponse>(_ applied: ApplyResult) -> Result<Response, EtcdError> {
        guard var response = Response(applied: applied) else {
            return .failure(EtcdError(.internalError, "etcdserver: unexpected apply result"))
        }
        fill(&response.header)
        return .success(response)
    }

    /// Runs `body` on a read view of the newest applied revision.
    func read<T>(_ body: (ReadView) throws(EtcdError) -> T) throws(EtcdError) -> T {
        do {
            return try store.read { view in try body(view) }
        } catch {
            throw EtcdError.wrapping(error)
        }
    }

    /// Runs a read — after a ReadIndex barrier if `linearizable` — where `scheduleRead` says,
    /// and hands its result to `completion`.
    func read<T: Sendable>(
        linearizable: Bool, scheduleRead: @escaping ReadScheduler,
        completion: @escaping @Sendable (Result<T, EtcdError>) -> Void,
        _ body: @escaping @Sendable (ReadView) throws(EtcdError) -> T
    ) {
        let run: @Sendable () -> Void = { [self] in
            completion(Result { () throws(EtcdError) in try read(body) })
        }
        guard linearizable else { return run() }
        linearizableReadBarrier { error in
            if let error { completion(.failure(error)) } else { scheduleRead(run) }
        }
    }

    /// Waits for an operation that reports through a completion.
    func completion<T: Sendable>(
        _ start: (@escaping @Sendable (Result<T, EtcdError>) -> Void) -> Void
    ) async throws(EtcdError) -> T {
        try await withCheckedContinuation { continuation in start { continuation.resume(returning: $0) } }.get()
    }

    /// Returns once this member has applied everything the cluster had committed when the
    /// call began (a ReadIndex round, shared with every read waiting at the same time).
    func linearizableReadBarrier() async throws(EtcdError) {
        let error = await withCheckedContinuation { continuation in
            linearizableReadBarrier { continuation.resume(returning: $0) }
        }
        if let error { throw error }
    }

    /// `linearizableReadBarrier`, reporting to `ready` (nil: the read may run) on the Raft
    /// loop's thread or the caller's.
    func linearizableReadBarrier(_ ready: @escaping @Sendable (EtcdError?) -> Void) {
        if stopped.load(ordering: .relaxed) { return ready(.stopped) }
        let request = ReadRequest(deadline: .now + requestTimeout)
        guard raft.inbox.add(.read(request)) else { return ready(.stopped) }
        request.onFinish(ready)
    }

    /// Proposes a request nobody waits for (the server's own housekeeping).
    func proposeDetached(_ request: Swetcdpb_InternalRequest.OneOf_Request) {
        var proposal = Swetcdpb_InternalRequest()
        proposal.request = request
        guard let data: [UInt8] = try? proposal.serializedBytes() else { return }
        raft.inbox.add(.proposal(id: 0, data: data))
    }

    /// Appends a request to the log and waits for the result of applying it.
    func propose(_ request: Swetcdpb_InternalRequest.OneOf_Request, as info: AuthInfo? = nil) async throws(EtcdError) -> ApplyResult {
        try await completion { propose(request, as: info, completion: $0) }
    }

    /// Appends a request, made by `info`, to the log; `completion` gets the result of
    /// applying it (or the request timeout).
    func propose(_ request: Swetcdpb_InternalRequest.OneOf_Request, as info: AuthInfo? = nil, completion: @escaping ApplyCompletion) {
        let id = requestIDs.next()
        let data: [UInt8]
        do {
            data = try Self.logEntry(for: request, id: id, as: info, maxRequestBytes: config.maxRequestBytes)
        } catch {
            if error == .requestTooLarge { metrics.proposalsFailed.increment() }
            return completion(.failure(error))
        }
        wait(for: id, completion: completion) { raft.inbox.add(.proposal(id: id, data: data)) }
    }

    /// The log entry data a proposal of `request` becomes: the request under its ID, encoded,
    /// refused when larger than `maxRequestBytes`. Shared with the fuzz targets (Tests/Fuzz),
    /// which apply exactly what proposing would append.
    static func logEntry(
        for request: Swetcdpb_InternalRequest.OneOf_Request, id: UInt64, as info: AuthInfo? = nil, maxRequestBytes: Int
    ) throws(EtcdError) -> [UInt8] {
        var proposal = Swetcdpb_InternalRequest()
        proposal.header.id = id
        if let info {
            proposal.header.username = info.username
            proposal.header.authRevision = info.revision
        }
        proposal.request = request
        let data: [UInt8]
        do { data = try proposal.serializedBytes() } catch { throw EtcdError(.internalError, "etcdserver: \(error)") }
        if data.count > maxRequestBytes { throw .requestTooLarge }
        return data
    }

    /// Registers a waiter for request `id`, runs `submit`, and waits for the outcome (or the
    /// request timeout, or `deadline` when given).
    func wait(
        for id: UInt64, deadline: ContinuousClock.Instant? = nil, submit: () -> Bool
    ) async throws(EtcdError) -> ApplyResult {
        try await completion { wait(for: id, deadline: deadline, completion: $0, submit: submit) }
    }

    private func wait(
        for id: UInt64, deadline: ContinuousClock.Instant? = nil, completion: @escaping ApplyCompletion, submit: () -> Bool
    ) {
        if stopped.load(ordering: .relaxed) {
            metrics.proposalsFailed.increment()
            return completion(.failure(.stopped))
        }
        waits.register(id, deadline: deadline ?? .now + requestTimeout, completion)
        if !submit() { waits.trigger(id, .failure(.stopped)) }
    }
}
