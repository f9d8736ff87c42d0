import EtcdProto
import Foundation
import Logging
import Raft
import Transport

/// What other members send this one, on its way into the Raft loop: Raft messages,
/// verified snapshots, delivery reports; and what they may ask of it (the membership, whether
/// a member was removed). Built before the transport, which hands it that traffic.
final class PeerInbound: PeerHandler {
    private let inbox: RaftInbox
    private let membership: Membership
    private let memberID: UInt64
    private let stopRequests: StopRequests
    private let logger: Logger
    let snapshotDirectory: String

    init(
        inbox: RaftInbox, membership: Membership, memberID: UInt64, snapshotDirectory: String, stopRequests: StopRequests,
        logger: Logger
    ) {
        self.inbox = inbox
        self.membership = membership
        self.memberID = memberID
        self.snapshotDirectory = snapshotDirectory
        self.stopRequests = stopRequests
        self.logger = logger
    }

    func receive(_ messages: [Message]) {
        inbox.add(.messages(messages))
    }

    /// Verifies the database, then asks Raft: a snapshot is installed only when both accept
    /// it, and the backend is untouched until then.
    func receiveSnapshot(_ message: Message, databasePath: String) async throws {
        let index = message.snapshot?.metadata.index ?? 0
        let refusal: String?
        do {
            try SnapshotDatabaseCheck(clusterID: membership.clusterID, localID: memberID)
                .verify(databaseAt: databasePath, for: message)
            refusal = await withCheckedContinuation { decided in
                if !inbox.add(.receivedSnapshot(message, databasePath: databasePath, decided: decided)) {
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
        throw PeerError.snapshotRefused(index: index, reason: refusal)
    }

    func reportUnreachable(_ memberID: UInt64) {
        inbox.add(.unreachable(memberID))
    }

    func reportSnapshot(to memberID: UInt64, succeeded: Bool) {
        inbox.add(.snapshotStatus(memberID, succeeded: succeeded))
    }

    func isRemoved(_ memberID: UInt64) -> Bool {
        membership.isRemoved(memberID)
    }

    func removedFromCluster() {
        logger.warning("the member has been permanently removed from the cluster; shutting down")
        stopRequests.request(.removed(linger: .zero))
    }

    func members() -> Swetcdpb_MembersResponse {
        var response = Swetcdpb_MembersResponse()
        response.clusterID = membership.clusterID
        response.members = membership.members.map(\.stored)
        response.removed = membership.removedIDs
        response.clusterVersion = membership.version ?? ""
        return response
    }
}
