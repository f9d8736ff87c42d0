/// The kinds of message a Raft node exchanges with its peers or is fed locally.
///
/// The raw values are etcd's `raftpb.MessageType` numbers, so logs and wire dumps line up with etcd.
public enum MessageType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Local: start an election (etcd `MsgHup`).
    case hup = 0
    /// Local: the leader should send heartbeats now (etcd `MsgBeat`).
    case beat = 1
    /// A proposal of new entries; local, or forwarded from a follower to the leader (`MsgProp`).
    case prop = 2
    /// Append entries, sent by the leader (`MsgApp`).
    case app = 3
    /// Answer to `app` (and to `snap`): accepted up to `index`, or rejected with a hint (`MsgAppResp`).
    case appResp = 4
    /// Request a vote for `term` (`MsgVote`).
    case vote = 5
    /// Answer to `vote` (`MsgVoteResp`).
    case voteResp = 6
    /// Install a snapshot on a follower that is too far behind (`MsgSnap`).
    case snap = 7
    /// Leader heartbeat, carrying the commit index and possibly a ReadIndex context (`MsgHeartbeat`).
    case heartbeat = 8
    /// Answer to `heartbeat` (`MsgHeartbeatResp`).
    case heartbeatResp = 9
    /// Local: the transport could not reach the peer in `from` (`MsgUnreachable`).
    case unreachable = 10
    /// Local: the outcome of sending a snapshot to `from`; `reject` means failure (`MsgSnapStatus`).
    case snapStatus = 11
    /// Local: the leader should verify that a quorum was recently active (`MsgCheckQuorum`).
    case checkQuorum = 12
    /// Ask the leader to hand leadership to `from` (`MsgTransferLeader`).
    case transferLeader = 13
    /// Leader to transferee: campaign immediately, skipping pre-vote and leases (`MsgTimeoutNow`).
    case timeoutNow = 14
    /// Request a read index; the context travels in `entries[0].data` (`MsgReadIndex`).
    case readIndex = 15
    /// Answer to a forwarded `readIndex` (`MsgReadIndexResp`).
    case readIndexResp = 16
    /// Ask whether a vote would be granted for `term`, without disturbing anyone (`MsgPreVote`).
    case preVote = 17
    /// Answer to `preVote` (`MsgPreVoteResp`).
    case preVoteResp = 18

    /// True for messages that only make sense inside one node and never travel on the network.
    public var isLocal: Bool {
        switch self {
        case .hup, .beat, .unreachable, .snapStatus, .checkQuorum: return true
        default: return false
        }
    }

    /// True for messages that answer a request and therefore need a known sender.
    public var isResponse: Bool {
        switch self {
        case .appResp, .voteResp, .heartbeatResp, .unreachable, .preVoteResp: return true
        default: return false
        }
    }

    /// The etcd spelling (`MsgApp`, `MsgVoteResp`, …).
    public var description: String {
        switch self {
        case .hup: return "MsgHup"
        case .beat: return "MsgBeat"
        case .prop: return "MsgProp"
        case .app: return "MsgApp"
        case .appResp: return "MsgAppResp"
        case .vote: return "MsgVote"
        case .voteResp: return "MsgVoteResp"
        case .snap: return "MsgSnap"
        case .heartbeat: return "MsgHeartbeat"
        case .heartbeatResp: return "MsgHeartbeatResp"
        case .unreachable: return "MsgUnreachable"
        case .snapStatus: return "MsgSnapStatus"
        case .checkQuorum: return "MsgCheckQuorum"
        case .transferLeader: return "MsgTransferLeader"
        case .timeoutNow: return "MsgTimeoutNow"
        case .readIndex: return "MsgReadIndex"
        case .readIndexResp: return "MsgReadIndexResp"
        case .preVote: return "MsgPreVote"
        case .preVoteResp: return "MsgPreVoteResp"
        }
    }

    /// The response kind for a (pre-)vote request.
    var voteResponse: MessageType {
        switch self {
        case .vote: return .voteResp
        case .preVote: return .preVoteResp
        default: preconditionFailure("\(self) is not a vote request")
        }
    }
}

/// One Raft message, shaped like etcd's `raftpb.Message`. Which fields matter depends on `type`.
public struct Message: Sendable, Hashable, CustomStringConvertible {
    /// What kind of message this is.
    public var type: MessageType
    /// Recipient node id.
    public var to: UInt64
    /// Sender node id (for local messages: the peer the message is about).
    public var from: UInt64
    /// The sender's term; 0 marks a local message (and `prop`/`readIndex`, which carry no term).
    public var term: UInt64
    /// For `app`: term of the entry at `index`. For votes: the candidate's last log term.
    /// For a rejecting `appResp`: term of the entry at `rejectHint`.
    public var logTerm: UInt64
    /// For `app`: index preceding `entries`. For votes: the candidate's last index.
    /// For `appResp`: highest index known to match (or the rejected index). For `readIndexResp`: the read index.
    public var index: UInt64
    /// Entries to append (`app`), proposed (`prop`), or the read context (`readIndex`, `readIndexResp`).
    public var entries: [Entry]
    /// The sender's commit index (`app`, `heartbeat`).
    public var commit: UInt64
    /// Only set on `snap`.
    public var snapshot: Snapshot? {
        get { snapshotBox?.value }
        set { snapshotBox = newValue.map(SnapshotBox.init) }
    }
    /// Snapshots are rare and large; boxing keeps every other message small and cheap to copy.
    private var snapshotBox: SnapshotBox?
    /// The request was refused (vote denied, append mismatched, snapshot failed).
    public var reject: Bool
    /// On a rejected `appResp`: an index the leader may probe next.
    public var rejectHint: UInt64
    /// Opaque context: a ReadIndex request id on heartbeats, `campaignTransfer` on forced votes.
    public var context: [UInt8]

    /// A message; fields not given are zero or empty.
    public init(
        type: MessageType, to: UInt64 = 0, from: UInt64 = 0, term: UInt64 = 0, logTerm: UInt64 = 0,
        index: UInt64 = 0, entries: [Entry] = [], commit: UInt64 = 0, snapshot: Snapshot? = nil,
        reject: Bool = false, rejectHint: UInt64 = 0, context: [UInt8] = []
    ) {
        self.type = type
        self.to = to
        self.from = from
        self.term = term
        self.logTerm = logTerm
        self.index = index
        self.entries = entries
        self.commit = commit
        self.snapshotBox = snapshot.map(SnapshotBox.init)
        self.reject = reject
        self.rejectHint = rejectHint
        self.context = context
    }

    /// A short human-readable rendering for logs and failing tests.
    public var description: String {
        var s = "\(from)->\(to) \(type) term=\(term)"
        if logTerm != 0 || index != 0 { s += " log=\(logTerm)/\(index)" }
        if commit != 0 { s += " commit=\(commit)" }
        if reject { s += " reject(hint=\(rejectHint))" }
        if !entries.isEmpty {
            s += " entries=[" + entries.map { "\($0.term)/\($0.index)" }.joined(separator: " ") + "]"
        }
        if let snap = snapshot { s += " snap=\(snap.metadata.term)/\(snap.metadata.index)" }
        if !context.isEmpty { s += " ctx=\(context.count)B" }
        return s
    }
}

extension Message {
    /// Whether an append is shaped as any correct leader sends it: a real entry at `index`
    /// (term 0 is what the log answers for a missing index, so it would "match" a gap), then
    /// entries numbered `index + 1`, `index + 2`, … (without passing UInt64.max) whose terms
    /// start at `logTerm` or later and never decrease. The log code relies on this;
    /// a peer's bytes need not honour it.
    var isWellFormedAppend: Bool {
        guard index == 0 || logTerm > 0 else { return false }
        var expected = index
        var lastTerm = max(logTerm, 1)
        for entry in entries {
            guard expected < .max, entry.index == expected + 1, entry.term >= lastTerm else { return false }
            expected = entry.index
            lastTerm = entry.term
        }
        return true
    }

    /// Field-wise equality.
    public static func == (a: Message, b: Message) -> Bool {
        a.type == b.type && a.to == b.to && a.from == b.from && a.term == b.term && a.logTerm == b.logTerm
            && a.index == b.index && a.commit == b.commit && a.reject == b.reject && a.rejectHint == b.rejectHint
            && a.entries == b.entries && a.context == b.context && a.snapshot == b.snapshot
    }

    /// Hashes the identifying fields.
    public func hash(into h: inout Hasher) {
        h.combine(type)
        h.combine(to)
        h.combine(from)
        h.combine(term)
        h.combine(index)
        h.combine(entries)
        h.combine(snapshot)
    }
}

/// Immutable holder of a message's snapshot.
final class SnapshotBox: Sendable {
    let value: Snapshot

    init(_ value: Snapshot) { self.value = value }
}

/// The context attached to vote requests of a leadership transfer: they bypass leases.
let campaignTransferContext: [UInt8] = Array("CampaignTransfer".utf8)

/// Node id 0 means "nobody" (no leader, no vote).
public let noNode: UInt64 = 0
