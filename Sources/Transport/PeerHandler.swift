import EtcdProto
import Raft

/// What the peer transport hands to the member's Raft side, and what it asks of it on behalf
/// of other members. Given to the transport when it is created.
public protocol PeerHandler: AnyObject, Sendable {
    /// Raft messages from another member, in the order they were sent.
    func receive(_ messages: [Message])
    /// A snapshot from the leader: the MsgSnap message and the backend database, written to
    /// `databasePath`. Returning accepts it (the handler then owns the file); throwing refuses
    /// it, preferably with `PeerError.snapshotRefused` (the transport deletes the file and the
    /// sender hears of the failure).
    func receiveSnapshot(_ message: Message, databasePath: String) async throws
    /// A member could not be reached (Raft slows down sending to it).
    func reportUnreachable(_ memberID: UInt64)
    /// A snapshot was delivered to a member, or failed to be.
    func reportSnapshot(to memberID: UInt64, succeeded: Bool)
    /// Whether a member was removed from the cluster (its messages are refused).
    func isRemoved(_ memberID: UInt64) -> Bool
    /// Another member refused this member's traffic because it was removed from the cluster
    /// (how a removed follower learns it, as the leader stops replicating to it).
    func removedFromCluster()
    /// The membership, for members joining the cluster.
    func members() -> Swetcdpb_MembersResponse
    /// Where a snapshot being received is written before it is handed over.
    var snapshotDirectory: String { get }
}

/// The calls other members forward to this one when it leads: given to the transport when
/// the Peer service starts serving (the member answering them exists by then). Each throws
/// `PeerError.notLeader` when this member does not lead, so the caller looks again.
public protocol ForwardedCallHandler: AnyObject, Sendable {
    /// A keep-alive forwarded by another member (answered by the leader).
    func forwardedLeaseRenew(_ request: Etcdserverpb_LeaseKeepAliveRequest) async throws -> Etcdserverpb_LeaseKeepAliveResponse
    /// A time-to-live lookup forwarded by another member (answered by the leader).
    func forwardedLeaseTimeToLive(_ request: Etcdserverpb_LeaseTimeToLiveRequest) async throws -> Etcdserverpb_LeaseTimeToLiveResponse
    /// A learner promotion forwarded by another member (answered by the leader).
    func forwardedMemberPromote(_ request: Etcdserverpb_MemberPromoteRequest) async throws -> Etcdserverpb_MemberPromoteResponse
}

/// Why a peer's request was refused.
public enum PeerError: Error, CustomStringConvertible {
    case clusterMismatch(local: UInt64, remote: UInt64)
    case wrongRecipient(local: UInt64, addressed: UInt64)
    case removedMember(UInt64)
    case unknownPeer(UInt64)
    case unknownSender(UInt64)
    case unknownPeerURLs([String])
    case invalidMessage(String)
    case snapshotRefused(index: UInt64, reason: String)
    /// A forwarded call reached a member that does not lead (any more).
    case notLeader
    /// A peer URL without a host and port.
    case unusableURL(String)
    /// An `https://` peer URL while this member has no peer TLS files.
    case noPeerTLS(String)

    public var description: String {
        switch self {
        case .clusterMismatch(let local, let remote):
            return "cluster ID mismatch (local \(String(local, radix: 16)), remote \(String(remote, radix: 16)))"
        case .wrongRecipient(let local, let addressed):
            return "message for member \(String(addressed, radix: 16)) reached member \(String(local, radix: 16))"
        case .removedMember(let id):
            return "rejected traffic from member \(String(id, radix: 16)): it was removed from the cluster"
        case .unknownPeer(let id):
            return "no known peer URLs for member \(String(id, radix: 16))"
        case .unknownSender(let id):
            return "rejected traffic from \(String(id, radix: 16)): not a member of the cluster"
        case .unknownPeerURLs(let urls):
            return "rejected a joining member: no member was added with peer URLs \(urls)"
        case .invalidMessage(let what):
            return "rejected a Raft message: \(what)"
        case .notLeader:
            return PeerTransport.notLeaderMessage
        case .snapshotRefused(let index, let reason):
            return "snapshot \(index) refused: \(reason)"
        case .unusableURL(let url):
            return "peer URL \(url) has no host:port"
        case .noPeerTLS(let url):
            return "peer URL \(url) needs TLS: give --peer-cert-file and --peer-key-file (or --peer-auto-tls)"
        }
    }
}
