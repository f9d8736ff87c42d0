import Auth
import EtcdProto
import Foundation
import Lease
import Logging
import MVCC
import Raft
import Storage

/// Applies committed log entries, strictly in order, to the store, the membership and the
/// rest of the state machine. Runs on the log loop's thread only. One call applies a whole
/// batch of entries and commits the backend once. The waiting clients get their results
/// just before that commit; the store's commit gate holds back any read that could
/// otherwise miss an answered write until the commit is visible.
final class EntryApplier {
    let store: KVStore
    let backend: Backend
    let membership: Membership
    let lessor: Lessor
    let auth: AuthStore
    let waits: WaitRegistry
    let logger: Logger
    let localMemberID: UInt64
    private let kv: KVApplier
    /// Index of the last entry applied (and committed to the backend).
    private(set) var appliedIndex: UInt64
    /// Where apply timings and lease counts go (nil: nowhere, as in the fuzz harness).
    private let metrics: ServerMetrics?
    /// Learners the membership may hold (`--max-learners`).
    private let maxLearners: Int
    /// What the batch being applied did for the Raft loop to follow.
    private var effects = AppliedEffects()

    static let consistentIndexKey = Array("consistent_index".utf8)

    init(
        store: KVStore, backend: Backend, membership: Membership, lessor: Lessor, auth: AuthStore, waits: WaitRegistry, localMemberID: UInt64,
        maxLearners: Int = 1, metrics: ServerMetrics?, logger: Logger
    ) throws {
        self.maxLearners = maxLearners
        self.store = store
        self.backend = backend
        self.membership = membership
        self.lessor = lessor
        self.auth = auth
        self.waits = waits
        self.localMemberID = localMemberID
        self.metrics = metrics
        self.logger = logger
        kv = KVApplier(leaseExists: { [lessor] in lessor.exists($0) })
        appliedIndex = try Self.readConsistentIndex(backend.batch)
    }

    /// The index of the last entry the backend has applied, 0 for a new backend.
    static func readConsistentIndex(_ reader: BackendReader) throws -> UInt64 {
        guard let bytes = try reader.get(.meta, consistentIndexKey) else { return 0 }
        guard bytes.count == 8 else { throw MVCCError.corrupt("consistent_index has \(bytes.count) bytes") }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Applies `entries` (those at or below the applied index are skipped, as after a
    /// restart), answers the waiting clients and commits the backend. Returns what the Raft
    /// loop must follow up: Raft's configuration, the transport's peers, the member's state.
    @discardableResult
    func apply(_ entries: [Entry]) throws -> AppliedEffects {
        effects = AppliedEffects()
        defer { effects = AppliedEffects() }
        var results: [(UInt64, Result<ApplyResult, EtcdError>)] = []
        var last = appliedIndex
        for entry in entries {
            let fresh = entry.index > appliedIndex
            if entry.type != .normal, let change = try decodeConfChange(entry, fresh: fresh) {
                if fresh {
                    let result = try applyMembershipChange(change, at: entry.index)
                    if change.id != 0 { results.append((change.id, result)) }
                } else if try !isRejectedConfChange(at: entry.index) {
                    // Raft's configuration is not persisted: it is rebuilt from every conf
                    // change after the snapshot, including those the backend already holds.
                    effects.confChanges.append(change)
                }
            }
            guard fresh else { continue }
            precondition(entry.index == last + 1, "apply: entry \(entry.index) does not follow \(last)")
            last = entry.index
            if entry.type == .normal && !entry.data.isEmpty {
                switch LogEntryDecoding.request(entry.data) {
                case .success(let request):
                    let result = try applyAuthorized(request, at: entry.index)
                    if request.header.id != 0 { results.append((request.header.id, result)) }
                case .failure(let undecodable):
                    // Every member decodes the same bytes the same way, so every member
                    // skips this entry and the proposer's client gets the reason.
                    logger.error(
                        "skipped a log entry that does not decode",
                        metadata: ["index": "\(entry.index)", "error": "\(undecodable.reason)"])
                    if undecodable.requestID != 0 {
                        results.append((undecodable.requestID, .failure(.undecodableEntry(undecodable.reason))))
                    }
                }
            }
        }
        guard last > appliedIndex else { return effects }
        try backend.batch.put(.meta, Self.consistentIndexKey, last.bigEndianBytes)
        // The WAL already holds these entries, so the clients are answered while the backend
        // commits; the store's gate makes anyone reading meanwhile wait for that commit.
        if !results.isEmpty {
            store.answerBeforeCommit()
            for (id, result) in results { waits.trigger(id, result) }
        }
        let commitStart = ContinuousClock.now
        try store.commit()
        metrics?.backendCommitDuration.recordInterval(since: commitStart)
        appliedIndex = last
        return effects
    }

    func applyRequest(_ request: Swetcdpb_InternalRequest, at index: UInt64) throws -> Result<ApplyResult, EtcdError> {
        switch request.request {
        case .put(let put):
            return writeTxn { txn throws(EtcdError) in try .put(kv.checkedPut(put, in: txn)) }
        case .deleteRange(let delete):
            return writeTxn { txn throws(EtcdError) in try .deleteRange(kv.deleteRange(delete, in: txn)) }
        case .txn(let request):
            return writeTxn { txn throws(EtcdError) in try .txn(kv.txn(request, view: txn, writer: txn)) }
        case .compaction(let compaction):
            do {
                try store.compact(compaction.revision)
            } catch let error as MVCCError {
                return .failure(EtcdError(error))
            }
            var response = Etcdserverpb_CompactionResponse()
            response.header.revision = store.currentRevision
            logger.info("finished scheduled compaction", metadata: ["compact-revision": "\(compaction.revision)"])
            return .success(.compaction(response))
        case .memberAttributes(let attributes):
            let known = try membership.setAttributes(
                of: attributes.memberID, name: attributes.name, clientURLs: attributes.clientUrls, in: backend.batch)
            if known && attributes.memberID == localMemberID {
                logger.info(
                    "published local member to cluster through raft",
                    metadata: [
                        "local-member-id": "\(MemberIdentity.hex(localMemberID))",
                        "local-member-attributes": "{Name:\(attributes.name) ClientURLs:[\(attributes.clientUrls.joined(separator: " "))]}",
                        "cluster-id": "\(MemberIdentity.hex(membership.clusterID))",
                    ])
                effects.publishedLocalMember = true
            }
            return .success(.none)
        case .clusterVersion(let version):
            let initial = membership.version == nil
            try membership.setVersion(version.version, in: backend.batch)
            if initial {
                logger.info("set initial cluster version", metadata: ["cluster-version": "\(version.version)"])
            }
            logger.info("enabled capabilities for version", metadata: ["cluster-version": "\(version.version)"])
            return .success(.none)
        case .leaseGrant(let grant):
            do {
                let info = try lessor.grant(id: grant.id, ttl: grant.ttl, in: backend.batch)
                var response = Etcdserverpb_LeaseGrantResponse()
                response.id = info.id
                response.ttl = info.grantedTTL
                response.header.revision = store.currentRevision
                metrics?.leasesGranted.increment()
                return .success(.leaseGrant(response))
            } catch let error as LeaseError {
                return .failure(EtcdError(error))
            }
        case .leaseRevoke(let revoke):
            do {
                try lessor.revoke(id: revoke.id, in: backend.batch) { keys in
                    let txn = store.write()
                    defer { txn.end() }
                    for key in keys { try txn.deleteRange(.single(key)) }
                }
            } catch let error as LeaseError {
                return .failure(EtcdError(error))
            }
            metrics?.leasesRevoked.increment()
            var response = Etcdserverpb_LeaseRevokeResponse()
            response.header.revision = store.currentRevision
            return .success(.leaseRevoke(response))
        case .leaseCheckpoint, .alarm, nil:
            return .failure(.notCapable)
        case .authenticate, .authEnable, .authDisable, .authUserAdd, .authUserDelete, .authUserChangePassword, .authUserGrantRole,
            .authUserRevokeRole, .authRoleAdd, .authRoleDelete, .authRoleGrantPermission, .authRoleRevokePermission:
            guard let body = request.request, let change = AuthChange(body) else { return .failure(.notCapable) }
            return try applyAuthChange(change, at: index)
        }
    }

    /// Runs `body` in one MVCC write transaction (one revision at most).
    private func writeTxn(_ body: (WriteTxn) throws(EtcdError) -> ApplyResult) -> Result<ApplyResult, EtcdError> {
        let txn = store.write()
        defer { txn.end() }
        do {
            return .success(try body(txn))
        } catch {
            return .failure(error)
        }
    }

    /// The membership change in a conf-change entry, or nil when its bytes do not decode:
    /// such an entry is refused (and remembered as refused) instead of stopping the member.
    private func decodeConfChange(_ entry: Entry, fresh: Bool) throws -> ConfChange? {
        do {
            let change = try ConfChange(decoding: entry.data)
            if !change.context.isEmpty {
                _ = try Swetcdpb_StoredMember(serializedBytes: change.context, options: LogEntryDecoding.options)
            }
            return change
        } catch {
            if fresh {
                try backend.batch.put(.meta, Self.rejectedConfChangeKey(entry.index), Array("rejected".utf8))
                logger.error("refused a membership change that does not decode", metadata: ["index": "\(entry.index)", "error": "\(error)"])
            }
            return nil
        }
    }

    /// Validates a membership change against the membership, as etcd does when applying it:
    /// a refused change leaves Raft's configuration as it is and is remembered as refused,
    /// so replaying the log after a restart makes the same decision.
    private func applyMembershipChange(_ change: ConfChange, at index: UInt64) throws -> Result<ApplyResult, EtcdError> {
        let context = change.context.isEmpty ? nil : try Swetcdpb_StoredMember(serializedBytes: change.context)
        if let refusal = validate(change, context: context) {
            try backend.batch.put(.meta, Self.rejectedConfChangeKey(index), Array("rejected".utf8))
            logger.warning("refused membership change", metadata: ["peer-id": "\(MemberIdentity.hex(change.nodeID))", "reason": "\(refusal)"])
            return .failure(refusal)
        }
        effects.confChanges.append(change)
        return try recordMembershipChange(change, context: context)
    }

    private func validate(_ change: ConfChange, context: Swetcdpb_StoredMember?) -> EtcdError? {
        let existing = membership.member(change.nodeID)
        let removed = membership.isRemoved(change.nodeID)
        switch change.type {
        case .addNode, .addLearnerNode:
            if context?.isPromote == true {
                guard let existing, !removed else { return .memberNotFound }
                return existing.isLearner ? nil : .memberNotLearner
            }
            if removed { return .memberNotFound }
            if existing != nil { return .memberExists }
            let urls = Set(context?.peerUrls ?? [])
            if membership.members.contains(where: { !urls.isDisjoint(with: $0.peerURLs) }) { return .peerURLExists }
            if change.type == .addLearnerNode && membership.members.filter(\.isLearner).count >= maxLearners { return .tooManyLearners }
            return nil
        case .removeNode:
            return existing == nil || removed ? .memberNotFound : nil
        case .updateNode:
            guard existing != nil, !removed else { return .memberNotFound }
            let urls = Set(context?.peerUrls ?? [])
            if membership.members.contains(where: { $0.id != change.nodeID && !urls.isDisjoint(with: $0.peerURLs) }) {
                return .peerURLExists
            }
            return nil
        }
    }

    static func rejectedConfChangeKey(_ index: UInt64) -> [UInt8] {
        Array("rejected_confchange/".utf8) + index.bigEndianBytes
    }

    private func isRejectedConfChange(at index: UInt64) throws -> Bool {
        try backend.batch.get(.meta, Self.rejectedConfChangeKey(index)) != nil
    }

    /// Records an accepted membership change in the backend.
    private func recordMembershipChange(_ change: ConfChange, context: Swetcdpb_StoredMember?) throws -> Result<ApplyResult, EtcdError> {
        let member = context.map(Member.init)
        let metadata: Logger.Metadata = [
            "cluster-id": "\(MemberIdentity.hex(membership.clusterID))", "local-member-id": "\(MemberIdentity.hex(localMemberID))",
            "peer-id": "\(MemberIdentity.hex(change.nodeID))",
        ]
        switch change.type {
        case .addNode, .addLearnerNode:
            if context?.isPromote == true {
                _ = try membership.promote(change.nodeID, in: backend.batch)
                logger.info("promote member", metadata: metadata)
            } else if let member {
                try membership.add(member, in: backend.batch)
                logger.info("added member", metadata: metadata.merging(["peer-urls": "\(member.peerURLs)", "learner": "\(member.isLearner)"]) { $1 })
            }
        case .removeNode:
            try membership.remove(change.nodeID, in: backend.batch)
            logger.info("removed member", metadata: metadata)
        case .updateNode:
            if let member {
                _ = try membership.setPeerURLs(of: change.nodeID, member.peerURLs, in: backend.batch)
                logger.info("updated member", metadata: metadata.merging(["peer-urls": "\(member.peerURLs)"]) { $1 })
            }
        }
        effects.membershipChanges.append((change, member))
        return .success(.membership)
    }

    /// Replaces the whole state machine with the database at `path` (a snapshot from the
    /// leader): the backend file, the key index, leases, membership and the applied index.
    func restore(fromDatabase path: String) throws {
        try backend.replaceDatabase(with: path)
        try lessor.reload(from: backend.batch)
        try store.reload()
        try membership.load(from: backend.batch)
        try auth.reload(from: backend.batch)
        appliedIndex = try Self.readConsistentIndex(backend.batch)
    }
}

/// What applying a batch of entries did beyond answering clients, for the Raft loop to follow.
struct AppliedEffects {
    /// Membership changes for Raft's configuration, in log order: those accepted now and
    /// those replayed after a restart (Raft's configuration is not persisted).
    var confChanges: [ConfChange] = []
    /// Membership changes accepted now, with the member each concerns, for the transport.
    var membershipChanges: [(change: ConfChange, member: Member?)] = []
    /// This member's name and client URLs were applied: it has published itself.
    var publishedLocalMember = false
}
