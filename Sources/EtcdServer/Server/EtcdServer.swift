import EtcdConfiguration
import EtcdProto
import Foundation
import Lease
import Logging
import MVCC
import Raft
import Storage
import Synchronization
import Transport

/// One swetcd member: the store, the Raft node that feeds it and the operations clients call.
///
/// Writes are proposed to Raft and answered once applied; linearizable reads wait for a
/// ReadIndex round (batched: one round serves every read waiting), serializable reads are
/// served from the local store at once. Every method is safe to call from any task.
public final class EtcdServer: Sendable {
    public let config: ServerConfig
    public let memberID: UInt64
    public let membership: Membership
    let store: KVStore
    let backend: Backend
    let lessor: Lessor
    let raft: RaftNode
    let waits: WaitRegistry
    let requestIDs: RequestIDGenerator
    let logger: Logger
    let kv: KVApplier
    private let stopped = Atomic(false)
    /// Signalled once `stop()` has closed everything (`stopped` is set when it begins).
    private let stopFinished = NSCondition()
    private let hasStopFinished = Atomic(false)
    private let failed = Atomic(false)
    private let published = Atomic(false)
    private let background = Mutex<[Task<Void, Never>]>([])
    /// How long a request may wait for Raft before `etcdserver: request timed out` (etcd's
    /// 5 s plus two election timeouts).
    let requestTimeout: Duration

    init(
        config: ServerConfig, memberID: UInt64, membership: Membership, store: KVStore, backend: Backend,
        lessor: Lessor, raft: RaftNode, waits: WaitRegistry, logger: Logger
    ) {
        self.config = config
        self.memberID = memberID
        self.membership = membership
        self.store = store
        self.backend = backend
        self.lessor = lessor
        self.raft = raft
        self.waits = waits
        self.logger = logger
        kv = KVApplier(leaseExists: { [lessor] in lessor.exists($0) })
        requestIDs = RequestIDGenerator(memberID: memberID)
        requestTimeout = .seconds(5) + config.electionTimeout * 2
    }

    public var clusterID: UInt64 { membership.clusterID }
    public var term: UInt64 { raft.term }
    /// The leader as this member knows it (0 when none).
    public var leader: UInt64 { raft.leader }
    public var isLeader: Bool { raft.isLeader }
    var metrics: ServerMetrics { raft.metrics }

    /// Connects the Raft loop's callbacks to the server (before the loop starts).
    func wireUp() {
        raft.onLeaderChange = { [unowned self] leader, isLeader in leaderChanged(to: leader, isLeader: isLeader) }
        raft.applier.applyConfChange = { [unowned self] change in _ = try raft.applyConfChange(change) }
        raft.applier.onMembershipChange = { [unowned self] change, member in membershipChanged(change, member) }
        raft.applier.onPublished = { [weak self] in self?.published.store(true, ordering: .releasing) }
    }

    /// Starts the member's background work: lease expiry, request timeouts, publishing itself.
    func startBackgroundTasks() {
        let expiry = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                self?.revokeExpiredLeases()
            }
        }
        let timeouts = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                self?.waits.expire(.timeout)
            }
        }
        let publish = Task { [weak self] in
            guard let self else { return }
            await self.publish()
        }
        background.withLock { $0 += [expiry, timeouts, publish] }
    }

    /// Proposes this member's name and client URLs until they are applied (etcd's publish),
    /// which is when the member is ready for clients.
    private func publish() async {
        var request = Swetcdpb_InternalRequest.OneOf_Request.memberAttributes(Swetcdpb_MemberAttributes())
        if case .memberAttributes(var attributes) = request {
            attributes.memberID = memberID
            attributes.name = config.name
            attributes.clientUrls = config.advertiseClientURLs.map(\.text)
            request = .memberAttributes(attributes)
        }
        while !Task.isCancelled && !published.load(ordering: .acquiring) {
            if raft.leader == 0 {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            do {
                _ = try await propose(request)
            } catch {
                logger.warning("failed to publish local member to cluster through raft", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Waits until the member published itself (it then serves clients), or throws if it
    /// stopped first.
    public func waitUntilReady() async throws(EtcdError) {
        while !published.load(ordering: .acquiring) {
            if stopped.load(ordering: .acquiring) { throw .stopped }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Whether the member published itself and serves clients.
    public var isReady: Bool { published.load(ordering: .acquiring) }

    private func leaderChanged(to leader: UInt64, isLeader: Bool) {
        if isLeader {
            // The new leader keeps lease time; every lease gets its full TTL plus an election
            // timeout, so none expires merely because leadership moved.
            lessor.promote(extend: config.electionTimeout)
            if membership.version == nil {
                logger.info("setting up initial cluster version", metadata: ["cluster-version": "\(ServerVersion.clusterMinor)"])
                var version = Swetcdpb_ClusterVersion()
                version.version = ServerVersion.cluster
                proposeDetached(.clusterVersion(version))
            }
        } else {
            lessor.demote()
        }
    }

    /// Brings the gauges that are sampled rather than counted up to date (before a scrape).
    public func refreshMetrics() {
        if let size = try? backend.size() { metrics.dbTotalSize.record(size) }
        if let inUse = try? backend.sizeInUse() { metrics.dbSizeInUse.record(inUse) }
        metrics.keys.record(store.liveKeyCount)
        metrics.watchers.record(store.watchable.watcherCount)
        metrics.proposalsPending.record(waits.count)
    }

    /// A response header as of now; `revision` 0 means the store's current revision.
    public func header(revision: Int64 = 0) -> Etcdserverpb_ResponseHeader {
        var header = Etcdserverpb_ResponseHeader()
        header.clusterID = clusterID
        header.memberID = memberID
        header.raftTerm = term
        header.revision = revision == 0 ? store.revision : revision
        return header
    }

    /// Fills the cluster, member and term fields of a header an operation produced.
    func fill(_ header: inout Etcdserverpb_ResponseHeader) {
        header.clusterID = clusterID
        header.memberID = memberID
        header.raftTerm = term
        if header.revision == 0 { header.revision = store.revision }
    }

    /// Whether this member is a learner (it then serves only status, member lists and
    /// serializable reads, as in etcd).
    public var isLearner: Bool { membership.member(memberID)?.isLearner ?? false }

    /// Refuses a request a learner does not serve.
    public func requireVoter() throws(EtcdError) {
        if isLearner { throw .learnerNotSupported }
    }

    // MARK: KV
    //
    // Each request comes in two forms: `async`, and with a completion for callers that
    // avoid a task per request (the gRPC server). Completions of writes run on the thread
    // that applied them; reads run wherever the caller's `scheduleRead` puts them, once a
    // linearizable read may proceed (serializable reads run at once, on the caller's thread).

    /// Where a read runs: the function is handed the read and runs it, now or later.
    public typealias ReadScheduler = @Sendable (@escaping @Sendable () -> Void) -> Void

    public func range(_ request: Etcdserverpb_RangeRequest) async throws(EtcdError) -> Etcdserverpb_RangeResponse {
        try await completion { range(request, scheduleRead: { $0() }, completion: $0) }
    }

    public func range(
        _ request: Etcdserverpb_RangeRequest, scheduleRead: @escaping ReadScheduler,
        completion: @escaping @Sendable (Result<Etcdserverpb_RangeResponse, EtcdError>) -> Void
    ) {
        do {
            if !request.serializable { try requireVoter() }
            try RequestValidation.check(request)
        } catch {
            return completion(.failure(error))
        }
        metrics.ranges.increment()
        read(linearizable: !request.serializable, scheduleRead: scheduleRead, completion: completion) { [self] view throws(EtcdError) in
            var response = try kv.range(request, in: view)
            fill(&response.header)
            return response
        }
    }

    public func put(_ request: Etcdserverpb_PutRequest) async throws(EtcdError) -> Etcdserverpb_PutResponse {
        try await completion { put(request, completion: $0) }
    }

    public func put(_ request: Etcdserverpb_PutRequest, completion: @escaping @Sendable (Result<Etcdserverpb_PutResponse, EtcdError>) -> Void) {
        do {
            try requireVoter()
            try RequestValidation.check(request)
        } catch {
            return completion(.failure(error))
        }
        metrics.puts.increment()
        propose(.put(request)) { [self] result in
            completion(result.flatMap { applied in
                guard case .put(var response) = applied else { return .failure(unexpectedResult()) }
                fill(&response.header)
                return .success(response)
            })
        }
    }

    public func deleteRange(_ request: Etcdserverpb_DeleteRangeRequest) async throws(EtcdError) -> Etcdserverpb_DeleteRangeResponse {
        try await completion { deleteRange(request, completion: $0) }
    }

    public func deleteRange(
        _ request: Etcdserverpb_DeleteRangeRequest, completion: @escaping @Sendable (Result<Etcdserverpb_DeleteRangeResponse, EtcdError>) -> Void
    ) {
        do {
            try requireVoter()
            try RequestValidation.check(request)
        } catch {
            return completion(.failure(error))
        }
        metrics.deletes.increment()
        propose(.deleteRange(request)) { [self] result in
            completion(result.flatMap { applied in
                guard case .deleteRange(var response) = applied else { return .failure(unexpectedResult()) }
                fill(&response.header)
                return .success(response)
            })
        }
    }

    public func txn(_ request: Etcdserverpb_TxnRequest) async throws(EtcdError) -> Etcdserverpb_TxnResponse {
        try await completion { txn(request, scheduleRead: { $0() }, completion: $0) }
    }

    public func txn(
        _ request: Etcdserverpb_TxnRequest, scheduleRead: @escaping ReadScheduler,
        completion: @escaping @Sendable (Result<Etcdserverpb_TxnResponse, EtcdError>) -> Void
    ) {
        do {
            try requireVoter()
            try RequestValidation.check(request, maxTxnOps: config.maxTxnOps)
        } catch {
            return completion(.failure(error))
        }
        metrics.txns.increment()
        if KVApplier.isReadOnly(request) {
            read(linearizable: !KVApplier.isSerializable(request), scheduleRead: scheduleRead, completion: completion) {
                [self] view throws(EtcdError) in
                var response = try kv.txn(request, view: view, writer: nil)
                fill(&response.header)
                return response
            }
            return
        }
        propose(.txn(request)) { [self] result in
            completion(result.flatMap { applied in
                guard case .txn(var response) = applied else { return .failure(unexpectedResult()) }
                fill(&response.header)
                return .success(response)
            })
        }
    }

    public func compact(_ request: Etcdserverpb_CompactionRequest) async throws(EtcdError) -> Etcdserverpb_CompactionResponse {
        try requireVoter()
        guard case .compaction(var response) = try await propose(.compaction(request)) else { throw unexpectedResult() }
        fill(&response.header)
        return response
    }

    /// Runs `body` on a read view of the newest applied revision.
    private func read<T>(_ body: (ReadView) throws(EtcdError) -> T) throws(EtcdError) -> T {
        do {
            return try store.read { view in try body(view) }
        } catch {
            throw EtcdError.wrapping(error)
        }
    }

    /// Runs a read — after a ReadIndex barrier if `linearizable` — where `scheduleRead` says,
    /// and hands its result to `completion`.
    private func read<T: Sendable>(
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
    private func completion<T: Sendable>(
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
    func propose(_ request: Swetcdpb_InternalRequest.OneOf_Request) async throws(EtcdError) -> ApplyResult {
        try await completion { propose(request, completion: $0) }
    }

    /// Appends a request to the log; `completion` gets the result of applying it (or the
    /// request timeout).
    func propose(_ request: Swetcdpb_InternalRequest.OneOf_Request, completion: @escaping ApplyCompletion) {
        let id = requestIDs.next()
        let data: [UInt8]
        do {
            data = try Self.logEntry(for: request, id: id, maxRequestBytes: config.maxRequestBytes)
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
        for request: Swetcdpb_InternalRequest.OneOf_Request, id: UInt64, maxRequestBytes: Int
    ) throws(EtcdError) -> [UInt8] {
        var proposal = Swetcdpb_InternalRequest()
        proposal.header.id = id
        proposal.request = request
        let data: [UInt8]
        do { data = try proposal.serializedBytes() } catch { throw EtcdError(.internalError, "etcdserver: \(error)") }
        if data.count > maxRequestBytes { throw .requestTooLarge }
        return data
    }

    /// Registers a waiter for request `id`, runs `submit`, and waits for the outcome (or the
    /// request timeout).
    func wait(for id: UInt64, submit: () -> Bool) async throws(EtcdError) -> ApplyResult {
        try await completion { wait(for: id, completion: $0, submit: submit) }
    }

    private func wait(for id: UInt64, completion: @escaping ApplyCompletion, submit: () -> Bool) {
        if stopped.load(ordering: .relaxed) {
            metrics.proposalsFailed.increment()
            return completion(.failure(.stopped))
        }
        waits.register(id, deadline: .now + requestTimeout, completion)
        if !submit() { waits.trigger(id, .failure(.stopped)) }
    }

    func unexpectedResult() -> EtcdError {
        EtcdError(.internalError, "etcdserver: unexpected apply result")
    }

    // MARK: Maintenance

    public func status() throws(EtcdError) -> Etcdserverpb_StatusResponse {
        var response = Etcdserverpb_StatusResponse()
        response.header = header()
        response.version = ServerVersion.server
        do {
            response.dbSize = try backend.size()
            response.dbSizeInUse = try backend.sizeInUse()
        } catch {
            throw EtcdError.wrapping(error)
        }
        response.leader = raft.leader
        response.raftIndex = raft.committedIndex
        response.raftTerm = term
        response.raftAppliedIndex = raft.appliedIndex
        response.isLearner = membership.member(memberID)?.isLearner ?? false
        return response
    }

    /// The HashKV of the store at `revision` (0 = newest).
    public func hashKV(revision: Int64) throws(EtcdError) -> Etcdserverpb_HashKVResponse {
        do {
            let result = try store.hash(atRevision: revision)
            var response = Etcdserverpb_HashKVResponse()
            response.header = header(revision: result.revision)
            response.hash = result.hash
            response.compactRevision = result.compactRevision
            return response
        } catch {
            throw EtcdError.wrapping(error)
        }
    }

    /// Stops accepting requests, finishes what is in flight and closes the files. Returns
    /// once all of that is done, also when another thread had begun stopping the member.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else {
            stopFinished.lock()
            while !hasStopFinished.load(ordering: .acquiring) { stopFinished.wait() }
            stopFinished.unlock()
            return
        }
        defer {
            stopFinished.lock()
            hasStopFinished.store(true, ordering: .releasing)
            stopFinished.broadcast()
            stopFinished.unlock()
        }
        for task in background.withLock({ $0 }) { task.cancel() }
        raft.transport.stop()
        raft.stop()
        store.close()
        waits.failAll(.stopped)
        do { try backend.close() } catch {
            logger.error("failed to close backend", metadata: ["error": "\(error)"])
        }
        logger.info("stopped etcd server", metadata: ["local-member-id": "\(MemberIdentity.hex(memberID))"])
    }

    /// Stops the member because it cannot go on (a listener failed); `hasFailed` tells.
    func fail() {
        failed.store(true, ordering: .releasing)
        Task.detached { [self] in stop() }
    }

    /// Whether the member stopped because of a failure rather than being asked to.
    public var hasFailed: Bool { failed.load(ordering: .acquiring) }

    /// Adds a background task that the server cancels when it stops.
    func keep(_ task: Task<Void, Never>) {
        background.withLock { $0.append(task) }
    }

    /// Whether the member stopped (asked to, or removed from the cluster).
    public var isStopped: Bool { stopped.load(ordering: .acquiring) }
}
