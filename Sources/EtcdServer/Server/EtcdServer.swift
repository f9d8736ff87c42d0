import EtcdProto
import Foundation
import Lease
import Logging
import MVCC
import Raft
import Storage
import Synchronization
import WAL

/// One swetcd member: the store, the log that feeds it and the operations clients call.
///
/// Writes are proposed to the log and answered once applied; reads are served from the
/// local store. Every method is safe to call from any task concurrently.
public final class EtcdServer: Sendable {
    public let config: ServerConfig
    public let memberID: UInt64
    public let membership: Membership
    let store: KVStore
    let backend: Backend
    let lessor: Lessor
    let loop: LogLoop
    let waits: WaitRegistry
    let requestIDs: RequestIDGenerator
    let logger: Logger
    let kv: KVApplier
    private let stopped = Atomic(false)
    private let background = Mutex<[Task<Void, Never>]>([])

    init(
        config: ServerConfig, memberID: UInt64, membership: Membership, store: KVStore, backend: Backend,
        lessor: Lessor, loop: LogLoop, waits: WaitRegistry, logger: Logger
    ) {
        self.config = config
        self.memberID = memberID
        self.membership = membership
        self.store = store
        self.backend = backend
        self.lessor = lessor
        self.loop = loop
        self.waits = waits
        self.logger = logger
        kv = KVApplier(leaseExists: { [lessor] in lessor.exists($0) })
        requestIDs = RequestIDGenerator(memberID: memberID)
    }

    /// Starts the member's background work (lease expiry).
    func startBackgroundTasks() {
        let expiry = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                self?.revokeExpiredLeases()
            }
        }
        background.withLock { $0.append(expiry) }
    }

    public var clusterID: UInt64 { membership.clusterID }
    var metrics: ServerMetrics { loop.metrics }

    /// Brings the gauges that are sampled rather than counted up to date (before a scrape).
    public func refreshMetrics() {
        if let size = try? backend.size() { metrics.dbTotalSize.record(size) }
        if let inUse = try? backend.sizeInUse() { metrics.dbSizeInUse.record(inUse) }
        metrics.keys.record(store.indexedKeyCount)
        metrics.watchers.record(store.watchable.watcherCount)
        metrics.proposalsPending.record(waits.count)
    }
    public var term: UInt64 { loop.term }

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

    // MARK: KV

    public func range(_ request: Etcdserverpb_RangeRequest) async throws(EtcdError) -> Etcdserverpb_RangeResponse {
        try RequestValidation.check(request)
        metrics.ranges.increment()
        var response = try read { view throws(EtcdError) in try kv.range(request, in: view) }
        fill(&response.header)
        return response
    }

    public func put(_ request: Etcdserverpb_PutRequest) async throws(EtcdError) -> Etcdserverpb_PutResponse {
        try RequestValidation.check(request)
        metrics.puts.increment()
        guard case .put(var response) = try await propose(.put(request)) else { throw unexpectedResult() }
        fill(&response.header)
        return response
    }

    public func deleteRange(_ request: Etcdserverpb_DeleteRangeRequest) async throws(EtcdError) -> Etcdserverpb_DeleteRangeResponse {
        try RequestValidation.check(request)
        metrics.deletes.increment()
        guard case .deleteRange(var response) = try await propose(.deleteRange(request)) else { throw unexpectedResult() }
        fill(&response.header)
        return response
    }

    public func txn(_ request: Etcdserverpb_TxnRequest) async throws(EtcdError) -> Etcdserverpb_TxnResponse {
        try RequestValidation.check(request, maxTxnOps: config.maxTxnOps)
        metrics.txns.increment()
        var response: Etcdserverpb_TxnResponse
        if KVApplier.isReadOnly(request) {
            response = try read { view throws(EtcdError) in try kv.txn(request, view: view, writer: nil) }
        } else {
            guard case .txn(let applied) = try await propose(.txn(request)) else { throw unexpectedResult() }
            response = applied
        }
        fill(&response.header)
        return response
    }

    public func compact(_ request: Etcdserverpb_CompactionRequest) async throws(EtcdError) -> Etcdserverpb_CompactionResponse {
        guard case .compaction(var response) = try await propose(.compaction(request)) else { throw unexpectedResult() }
        fill(&response.header)
        return response
    }

    /// Runs `body` on a read view of the newest applied revision. On a single member every
    /// acknowledged write is applied before it is acknowledged, so this is linearizable.
    private func read<T>(_ body: (ReadView) throws(EtcdError) -> T) throws(EtcdError) -> T {
        do {
            return try store.read { view in try body(view) }
        } catch {
            throw EtcdError.wrapping(error)
        }
    }

    /// Proposes a request nobody waits for (the server's own housekeeping).
    func proposeDetached(_ request: Swetcdpb_InternalRequest.OneOf_Request) {
        var proposal = Swetcdpb_InternalRequest()
        proposal.request = request
        guard let data: [UInt8] = try? proposal.serializedBytes() else { return }
        _ = loop.propose(data)
    }

    /// Appends a request to the log and waits for the result of applying it.
    func propose(_ request: Swetcdpb_InternalRequest.OneOf_Request) async throws(EtcdError) -> ApplyResult {
        var proposal = Swetcdpb_InternalRequest()
        proposal.header.id = requestIDs.next()
        proposal.request = request
        let data: [UInt8]
        do { data = try proposal.serializedBytes() } catch { throw EtcdError(.internal, "etcdserver: \(error)") }
        if data.count > config.maxRequestBytes {
            metrics.proposalsFailed.increment()
            throw .requestTooLarge
        }
        if stopped.load(ordering: .relaxed) {
            metrics.proposalsFailed.increment()
            throw .stopped
        }
        let id = proposal.header.id
        do {
            return try await withCheckedThrowingContinuation { continuation in
                waits.register(id, continuation)
                if !loop.propose(data) { waits.trigger(id, .failure(.stopped)) }
            }
        } catch {
            throw EtcdError.wrapping(error)
        }
    }

    func unexpectedResult() -> EtcdError {
        EtcdError(.internal, "etcdserver: unexpected apply result")
    }

    // MARK: Maintenance and cluster

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
        response.leader = memberID
        response.raftIndex = loop.committedIndex
        response.raftTerm = term
        response.raftAppliedIndex = loop.appliedIndex
        response.isLearner = false
        return response
    }

    public func memberList() -> Etcdserverpb_MemberListResponse {
        var response = Etcdserverpb_MemberListResponse()
        response.header = header()
        response.header.revision = 0
        response.members = membership.members.map { member in
            var converted = Etcdserverpb_Member()
            converted.id = member.id
            converted.name = member.name
            converted.peerUrls = member.peerURLs
            converted.clientUrls = member.clientURLs
            converted.isLearner = member.isLearner
            return converted
        }
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

    /// Stops accepting requests, finishes what is in flight and closes the files.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for task in background.withLock({ $0 }) { task.cancel() }
        loop.stop()
        store.close()
        waits.failAll(.stopped)
        do { try backend.close() } catch {
            logger.error("failed to close backend", metadata: ["error": "\(error)"])
        }
        logger.info("stopped etcd server", metadata: ["local-member-id": "\(MemberIdentity.hex(memberID))"])
    }
}
