import Auth
import EtcdConfiguration
import EtcdProto
import Foundation
import Lease
import Logging
import MVCC
import Raft
import Storage

/// A member's state machine without Raft, a WAL or a network, for the fuzz targets
/// (Tests/Fuzz): a client request takes the server's own path — its request checks, the log
/// entry its proposal becomes (`EtcdServer.logEntry`), the apply code that runs committed
/// entries (`EntryApplier`) — on a real backend, MVCC store and lessor in a directory.
/// A proposal is applied at once, as the next entry of the log.
///
/// Apply errors are thrown, not returned: the Raft loop stops the member on any of them,
/// so a caller that sees one has found a request that kills a member.
package final class StandaloneMember {
    private let backend: Backend
    private let store: KVStore
    private let applier: EntryApplier
    private let kv: KVApplier
    private let config: ServerConfig
    private var lastIndex: UInt64 = 0
    private var lastID: UInt64 = 0

    /// Opens (creating) the backend at `directory`/db with `config`'s limits.
    package init(directory: String, config: ServerConfig = ServerConfig()) throws {
        self.config = config
        backend = try Backend(path: directory + "/db")
        let lessor = try Lessor(loadingFrom: backend.batch, minTTL: config.minimumLeaseTTL)
        // Keeping lease time as a leader does puts expiry arithmetic on the apply path too.
        lessor.promote(extend: .zero)
        store = try KVStore(backend: backend, leases: lessor)
        let silent = Logger(label: "swetcd.standalone") { _ in SwiftLogNoOpLogHandler() }
        applier = try EntryApplier(
            store: store, backend: backend, membership: Membership(clusterID: 1), lessor: lessor,
            auth: try AuthStore(loadingFrom: backend.batch, tokenTTL: .seconds(300)), waits: WaitRegistry(),
            localMemberID: 1, metrics: nil, logger: silent)
        kv = KVApplier(leaseExists: { [lessor] in lessor.exists($0) })
    }

    deinit {
        store.close()
        try? backend.close()
    }

    /// `EtcdServer.range`: checked, then served from a read view (ranges never enter the log).
    package func range(_ request: Etcdserverpb_RangeRequest) throws(EtcdError) {
        try RequestValidation.check(request)
        try read { view throws(EtcdError) in _ = try kv.range(request, in: view) }
    }

    /// `EtcdServer.put`.
    package func put(_ request: Etcdserverpb_PutRequest) throws {
        try RequestValidation.check(request)
        try propose(.put(request))
    }

    /// `EtcdServer.deleteRange`.
    package func deleteRange(_ request: Etcdserverpb_DeleteRangeRequest) throws {
        try RequestValidation.check(request)
        try propose(.deleteRange(request))
    }

    /// `EtcdServer.txn`: a read-only txn is served from a read view, any other is proposed.
    package func txn(_ request: Etcdserverpb_TxnRequest) throws {
        try RequestValidation.check(request, maxTxnOps: config.maxTxnOps)
        if KVApplier.isReadOnly(request) {
            try read { view throws(EtcdError) in _ = try kv.txn(request, view: view, writer: nil) }
        } else {
            try propose(.txn(request))
        }
    }

    /// `EtcdServer.compact`.
    package func compact(_ request: Etcdserverpb_CompactionRequest) throws {
        try propose(.compaction(request))
    }

    /// `EtcdServer.leaseGrant`: an ID of 0 gets a server-chosen one.
    package func leaseGrant(_ request: Etcdserverpb_LeaseGrantRequest) throws {
        var request = request
        if request.id == 0 { request.id = Int64(lastID + 1) }
        try propose(.leaseGrant(request))
    }

    /// `EtcdServer.leaseRevoke`.
    package func leaseRevoke(_ request: Etcdserverpb_LeaseRevokeRequest) throws {
        try propose(.leaseRevoke(request))
    }

    /// Encodes `request` as proposing does and applies it as the next log entry. A request
    /// refused before the log (too large) throws its `EtcdError`; an apply failure throws
    /// `ApplyFailure`.
    package func propose(_ request: Swetcdpb_InternalRequest.OneOf_Request) throws {
        lastID += 1
        try apply(entryData: try EtcdServer.logEntry(for: request, id: lastID, maxRequestBytes: config.maxRequestBytes))
    }

    /// Applies `entryData` as the next normal log entry, as the Raft loop applies a committed
    /// one. Throws `ApplyFailure` when applying fails (where the Raft loop stops the member).
    package func apply(entryData: [UInt8]) throws(ApplyFailure) {
        lastIndex += 1
        do {
            try applier.apply([Entry(term: 1, index: lastIndex, data: entryData)])
        } catch {
            throw ApplyFailure(underlying: error)
        }
    }

    private func read(_ body: (ReadView) throws(EtcdError) -> Void) throws(EtcdError) {
        do {
            try store.read { view in try body(view) }
        } catch {
            throw EtcdError.wrapping(error)
        }
    }

    /// Applying a committed entry failed: a running member would stop here.
    package struct ApplyFailure: Error, CustomStringConvertible {
        /// What the apply code threw.
        package let underlying: any Error
        package var description: String { "apply failed (the Raft loop stops the member): \(underlying)" }
    }
}
