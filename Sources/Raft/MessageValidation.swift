/// Why a node dropped a message from a peer instead of stepping it. Messages that would
/// overflow a counter or break an invariant of the log are refused here, before they
/// reach the state machine: a member must not crash because of what another one sent.
public enum MessageDropReason: Sendable, Hashable, CustomStringConvertible {
    /// The term is so large that counting on from it could overflow.
    case termTooLarge(UInt64)
    /// A heartbeat asked to commit beyond the last entry this node has.
    case commitBeyondLog(commit: UInt64, lastIndex: UInt64)
    /// An append answer names entries this leader never had.
    case matchBeyondLog(index: UInt64, lastIndex: UInt64)
    /// The append is not shaped as a correct leader sends one (`Message.isWellFormedAppend`).
    case malformedEntries
    /// A snapshot message without a snapshot.
    case missingSnapshot
    /// A snapshot not from the leader this node follows, in the term it is in.
    case snapshotNotFromLeader(leader: UInt64, term: UInt64)
    /// A snapshot that does not go beyond what this node already committed.
    case snapshotNotNeeded(index: UInt64, committed: UInt64)
    /// A message between members without a term (only forwarded proposals and read
    /// requests travel without one).
    case missingTerm(MessageType)
    /// A forwarded proposal or read request with a term (they travel without one).
    case unexpectedTerm(MessageType)
    /// A forwarded proposal without entries.
    case emptyProposal

    public var description: String {
        switch self {
        case .termTooLarge(let term):
            return "term \(term) is beyond the largest term accepted (\(maxAcceptedTerm))"
        case .commitBeyondLog(let commit, let last):
            return "heartbeat commit \(commit) is beyond the last index \(last)"
        case .matchBeyondLog(let index, let last):
            return "append answer index \(index) is beyond the leader's last index \(last)"
        case .malformedEntries:
            return "append entries do not follow the message index"
        case .missingSnapshot:
            return "snapshot message carries no snapshot"
        case .snapshotNotFromLeader(let leader, let term):
            return "snapshot is not from the current leader \(String(leader, radix: 16)) of term \(term)"
        case .snapshotNotNeeded(let index, let committed):
            return "snapshot index \(index) is not above the committed index \(committed)"
        case .missingTerm(let type):
            return "\(type) from a peer carries no term"
        case .unexpectedTerm(let type):
            return "forwarded \(type) carries a term"
        case .emptyProposal:
            return "forwarded proposal carries no entries"
        }
    }
}

/// The largest term a node accepts from a peer. Far beyond any real cluster's term, and far
/// enough from `UInt64.max` that `term + 1` can never overflow.
public let maxAcceptedTerm: UInt64 = 1 << 62

extension Message {
    /// Why a message from a peer is not shaped as members send them, or nil. Forwarded
    /// proposals and read requests travel without a term, every other kind with one; Raft
    /// relies on that when it answers or forwards (a vote answered in term 0, a proposal
    /// forwarded with a term, are invariants broken).
    var peerShapeDropReason: MessageDropReason? {
        switch type {
        case .prop, .readIndex:
            if term != 0 { return .unexpectedTerm(type) }
            if type == .prop && entries.isEmpty { return .emptyProposal }
            return nil
        default:
            return term == 0 ? .missingTerm(type) : nil
        }
    }
}

extension Raft {
    /// Why `m` must not be stepped, or nil when it may be.
    func dropReason(_ m: Message) -> MessageDropReason? {
        if m.term > maxAcceptedTerm { return .termTooLarge(m.term) }
        switch m.type {
        case .heartbeat where m.commit > log.lastIndex:
            return .commitBeyondLog(commit: m.commit, lastIndex: log.lastIndex)
        case .appResp where state == .leader && m.term == term:
            // Answers in this term name indexes of this leader's log, whose tail only grows.
            let named = m.reject ? max(m.index, m.rejectHint) : m.index
            return named > log.lastIndex ? .matchBeyondLog(index: named, lastIndex: log.lastIndex) : nil
        case .app:
            return m.isWellFormedAppend ? nil : .malformedEntries
        case .snap where m.snapshot == nil:
            return .missingSnapshot
        default:
            return nil
        }
    }

    /// Why a snapshot that arrived with its data must not be installed: it must come from
    /// the leader this node follows in its current term, and be ahead of the commit index.
    func snapshotDropReason(_ m: Message) -> MessageDropReason? {
        if let reason = dropReason(m) { return reason }
        guard let snapshot = m.snapshot else { return .missingSnapshot }
        guard lead != noNode, m.from == lead, m.term == term else {
            return .snapshotNotFromLeader(leader: lead, term: term)
        }
        if snapshot.metadata.index <= log.committed {
            return .snapshotNotNeeded(index: snapshot.metadata.index, committed: log.committed)
        }
        return nil
    }
}
