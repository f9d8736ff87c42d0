import EtcdProto
import Foundation
import GRPCCore
import Raft
import Transport

/// The server's side of the peer transport: Raft traffic into the Raft loop, snapshots,
/// membership for joining members, and lease calls forwarded by followers.
extension EtcdServer: PeerHandler {
    public func receive(_ messages: [Message]) {
        raft.inbox.add(.messages(messages))
    }

    /// Verifies the database, then asks Raft: a snapshot is installed only when both accept
    /// it, and the backend is untouched until then.
    public func receiveSnapshot(_ message: Message, databasePath: String) async throws {
        let index = message.snapshot?.metadata.index ?? 0
        let refusal: String?
        do {
            try SnapshotDatabaseCheck(clusterID: clusterID, localID: memberID).verify(databaseAt: databasePath, for: message)
            refusal = await withCheckedContinuation { decided in
                if !raft.inbox.add(.receivedSnapshot(message, databasePath: databasePath, decided: decided)) {
                    decided.resume(returning: "the member is stopping")
                }
            }
        } catch {
            refusal = "\(error)"
        }
        guard let refusal else { return }
        logger.warning(
            "refused a snapshot from a peer",
            metadata: ["from": "\(hex(message.from))", "snapshot-index": "\(index)", "term": "\(message.term)", "reason": "\(refusal)"])
        throw RPCError(code: .failedPrecondition, message: "snapshot \(index) refused: \(refusal)")
    }

    public func reportUnreachable(_ memberID: UInt64) {
        raft.inbox.add(.unreachable(memberID))
    }

    public func reportSnapshot(to memberID: UInt64, succeeded: Bool) {
        raft.inbox.add(.snapshotStatus(memberID, succeeded: succeeded))
    }

    public func isRemoved(_ memberID: UInt64) -> Bool {
        membership.isRemoved(memberID)
    }

    public func removedFromCluster() {
        guard !isStopped else { return }
        logger.warning("the member has been permanently removed from the cluster; shutting down")
        Task.detached { [self] in stop() }
    }

    public func members() -> Swetcdpb_MembersResponse {
        var response = Swetcdpb_MembersResponse()
        response.clusterID = clusterID
        response.members = membership.members.map(\.stored)
        response.removed = membership.removedIDs
        response.clusterVersion = membership.version ?? ""
        return response
    }

    public func forwardedLeaseRenew(_ request: Etcdserverpb_LeaseKeepAliveRequest) async throws -> Etcdserverpb_LeaseKeepAliveResponse {
        guard isLeader else { throw EtcdError.notLeader }
        return try leaseRenew(request.id)
    }

    public func forwardedLeaseTimeToLive(_ request: Etcdserverpb_LeaseTimeToLiveRequest) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        guard isLeader else { throw EtcdError.notLeader }
        return leaseTimeToLive(request)
    }

    public func forwardedMemberPromote(_ request: Etcdserverpb_MemberPromoteRequest) async throws -> Etcdserverpb_MemberPromoteResponse {
        guard isLeader else { throw EtcdError.notLeader }
        return try await memberPromote(request)
    }

    public var snapshotDirectory: String { config.snapshotDirectory }

    /// Serves the Peer service on every `--listen-peer-urls` address (in the background).
    func startPeerListeners() {
        for url in config.listenPeerURLs {
            let transport = raft.transport
            let logger = self.logger
            keep(Task { [weak self] in
                do {
                    try await transport.serve(host: url.host, port: url.port) {
                        logger.info("serving peer traffic", metadata: ["address": "\(url.hostPort)"])
                    }
                } catch {
                    if Task.isCancelled { return }
                    // A member that cannot hear its peers must not pretend to run (etcd exits too).
                    logger.critical("peer listener failed", metadata: ["address": "\(url.hostPort)", "error": "\(error)"])
                    self?.fail()
                }
            })
        }
    }
}

/// Stands in for the server while the transport is built before it.
final class PeerHandlerProxy: PeerHandler, @unchecked Sendable {
    // @unchecked: `target` is set once, before the transport starts.
    weak var target: EtcdServer?

    func receive(_ messages: [Message]) { target?.receive(messages) }
    func receiveSnapshot(_ message: Message, databasePath: String) async throws {
        guard let target else { throw EtcdError.stopped }
        try await target.receiveSnapshot(message, databasePath: databasePath)
    }
    func reportUnreachable(_ memberID: UInt64) { target?.reportUnreachable(memberID) }
    func reportSnapshot(to memberID: UInt64, succeeded: Bool) { target?.reportSnapshot(to: memberID, succeeded: succeeded) }
    func isRemoved(_ memberID: UInt64) -> Bool { target?.isRemoved(memberID) ?? false }
    func removedFromCluster() { target?.removedFromCluster() }
    func members() -> Swetcdpb_MembersResponse { target?.members() ?? Swetcdpb_MembersResponse() }
    func forwardedLeaseRenew(_ request: Etcdserverpb_LeaseKeepAliveRequest) async throws -> Etcdserverpb_LeaseKeepAliveResponse {
        guard let target else { throw EtcdError.stopped }
        return try await target.forwardedLeaseRenew(request)
    }
    func forwardedLeaseTimeToLive(_ request: Etcdserverpb_LeaseTimeToLiveRequest) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        guard let target else { throw EtcdError.stopped }
        return try await target.forwardedLeaseTimeToLive(request)
    }
    func forwardedMemberPromote(_ request: Etcdserverpb_MemberPromoteRequest) async throws -> Etcdserverpb_MemberPromoteResponse {
        guard let target else { throw EtcdError.stopped }
        return try await target.forwardedMemberPromote(request)
    }
    var snapshotDirectory: String { target?.snapshotDirectory ?? NSTemporaryDirectory() }
}
