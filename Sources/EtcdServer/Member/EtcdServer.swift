import Auth
import EtcdConfiguration
import EtcdProto
import Foundation
import Lease
import Logging
import MVCC
import Storage
import Synchronization

/// One swetcd member: the store, the Raft node that feeds it and the operations clients call.
///
/// Writes are proposed to Raft and answered once applied; linearizable reads wait for a
/// ReadIndex round (batched: one round serves every read waiting), serializable reads are
/// served from the local store at once. Every method is safe to call from any task.
///
/// Built in one pass by `start(config:logger:)` (Bootstrap.swift); the operations are grouped
/// by service in the `EtcdServer+*.swift` files.
public final class EtcdServer: Sendable {
    /// The configuration the member was started with.
    public let config: ServerConfig
    /// This member's ID.
    public let memberID: UInt64
    /// The cluster's members as this member has applied them.
    public let membership: Membership
    let store: KVStore
    let backend: Backend
    let lessor: Lessor
    /// Users, roles and permissions, and the simple tokens issued.
    let auth: AuthStore
    let tokens: TokenProvider
    let passwords: PasswordHasher
    let raft: RaftNode
    let waits: WaitRegistry
    let requestIDs: RequestIDGenerator
    let logger: Logger
    let kv: KVApplier
    let stopRequests: StopRequests
    let stopped = Atomic(false)
    /// Signalled once `stop()` has closed everything (`stopped` is set when it begins).
    let stopFinished = NSCondition()
    let hasStopFinished = Atomic(false)
    let failed = Atomic(false)
    let background = Mutex<[Task<Void, Never>]>([])
    /// How long a request may wait for Raft before `etcdserver: request timed out` (etcd's
    /// 5 s plus two election timeouts).
    let requestTimeout: Duration

    init(
        config: ServerConfig, memberID: UInt64, membership: Membership, store: KVStore, backend: Backend,
        lessor: Lessor, auth: AuthStore, tokens: TokenProvider, raft: RaftNode, waits: WaitRegistry, stopRequests: StopRequests,
        logger: Logger
    ) {
        self.auth = auth
        self.tokens = tokens
        passwords = PasswordHasher(cost: Bcrypt.costs.contains(config.bcryptCost) ? config.bcryptCost : Bcrypt.defaultCost)
        self.config = config
        self.memberID = memberID
        self.membership = membership
        self.store = store
        self.backend = backend
        self.lessor = lessor
        self.raft = raft
        self.waits = waits
        self.stopRequests = stopRequests
        self.logger = logger
        kv = KVApplier(leaseExists: { [lessor] in lessor.exists($0) })
        requestIDs = RequestIDGenerator(memberID: memberID)
        requestTimeout = .seconds(5) + config.electionTimeout * 2
    }

    /// The cluster's ID.
    public var clusterID: UInt64 { membership.clusterID }
    /// The Raft term this member is in.
    public var term: UInt64 { raft.term }
    /// The leader as this member knows it (0 when none).
    public var leader: UInt64 { raft.leader }
    /// Whether this member leads.
    public var isLeader: Bool { raft.isLeader }
    var metrics: ServerMetrics { raft.metrics }

    /// Waits until the member published itself (it then serves clients), or throws if it
    /// stopped first or the waiting task was cancelled.
    public func waitUntilReady() async throws(EtcdError) {
        while !raft.isPublished {
            if stopped.load(ordering: .acquiring) { throw .stopped }
            // A cancelled task's sleep returns at once: without this the loop would spin.
            do { try await Task.sleep(for: .milliseconds(20)) } catch { throw .canceled }
        }
    }

    /// Whether the member published itself and serves clients.
    public var isReady: Bool { raft.isPublished }

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
}
