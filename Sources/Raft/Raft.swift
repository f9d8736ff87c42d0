/// The role a node currently plays.
public enum RaftState: UInt8, Sendable, Hashable, CustomStringConvertible {
    case follower
    case candidate
    case leader
    /// Running a pre-vote round (thesis §9.6) before becoming a candidate.
    case preCandidate

    /// The etcd spelling (`StateLeader`, …).
    public var description: String {
        switch self {
        case .follower: return "StateFollower"
        case .candidate: return "StateCandidate"
        case .leader: return "StateLeader"
        case .preCandidate: return "StatePreCandidate"
        }
    }
}

/// Why a node starts an election.
enum CampaignType {
    /// The pre-vote phase (when `preVote` is on).
    case preElection
    /// A normal election after a timeout (or after a successful pre-vote).
    case election
    /// An election ordered by the leader through `timeoutNow`: no pre-vote, overrides leases.
    case transfer
}

/// The Raft state machine of one node. Internal: the application drives it through `RawNode`.
/// Every input arrives through `tick()` or `step(_:)`; every output is appended to `msgs` or
/// to the log / read states, to be collected into a `Ready`.
final class Raft {
    let id: UInt64
    var term: UInt64 = 0
    var vote: UInt64 = noNode
    var readStates: [ReadState] = []
    var log: RaftLog
    let maxMsgSize: UInt64
    let maxUncommittedSize: UInt64
    var trk: ProgressTracker
    var state: RaftState = .follower
    /// Whether this node is a learner in the current configuration.
    var isLearner = false
    /// Messages waiting to be handed out in the next `Ready`.
    var msgs: [Message] = []
    var lead: UInt64 = noNode
    /// Target of an ongoing leadership transfer (thesis §3.10), or 0.
    var leadTransferee: UInt64 = noNode
    /// Index at or above the latest conf change that may not be applied yet. A new conf change
    /// may only be proposed once the applied index has passed it (one change at a time).
    var pendingConfIndex: UInt64 = 0
    /// Payload bytes of the uncommitted tail, tracked by the leader only.
    var uncommittedSize: UInt64 = 0
    var readOnly: ReadOnly
    /// Ticks since the last election timeout (leader, candidate) or since hearing from the
    /// leader (follower).
    var electionElapsed = 0
    /// Ticks since the last heartbeat (leader only).
    var heartbeatElapsed = 0
    let checkQuorum: Bool
    let preVote: Bool
    let heartbeatTimeout: Int
    let electionTimeout: Int
    /// Drawn from `[electionTimeout, 2 * electionTimeout)` at every reset.
    var randomizedElectionTimeout = 0
    let disableProposalForwarding: Bool
    var rng: SeededRandom
    /// ReadIndex requests received before this leader committed an entry of its own term.
    var pendingReadIndexMessages: [Message] = []
    /// Local proposals were appended whose replication waits for the next `Ready`.
    var appendsPending = false

    /// Creates a node from its configuration and persisted state. `peers` and `learners` seed
    /// the membership of a brand-new node whose storage holds no configuration (tests only).
    init(config: Config, storage: any Storage, peers: [UInt64] = [], learners: [UInt64] = []) throws(RaftError) {
        try config.validate()
        id = config.id
        let perReady = config.maxCommittedSizePerReady == 0 ? config.maxSizePerMsg : config.maxCommittedSizePerReady
        log = RaftLog(storage: storage, maxNextEntsSize: perReady)
        maxMsgSize = config.maxSizePerMsg
        maxUncommittedSize = config.maxUncommittedEntriesSize == 0 ? .max : config.maxUncommittedEntriesSize
        trk = ProgressTracker(maxInflight: config.maxInflightMsgs)
        electionTimeout = config.electionTick
        heartbeatTimeout = config.heartbeatTick
        checkQuorum = config.checkQuorum
        preVote = config.preVote
        readOnly = ReadOnly(option: config.readOnlyOption)
        disableProposalForwarding = config.disableProposalForwarding
        rng = SeededRandom(seed: config.seed ^ (config.id &* 0x9E37_79B9_7F4A_7C15))

        var (hs, cs) = storage.initialState()
        if !peers.isEmpty || !learners.isEmpty {
            if !cs.voters.isEmpty || !cs.learners.isEmpty {
                throw .invalidConfig("cannot specify both peers/learners and a stored configuration")
            }
            cs.voters = peers
            cs.learners = learners
        }
        do {
            let (cfg, prs) = try ConfChanger.restore(cs, maxInflight: trk.maxInflight, lastIndex: log.lastIndex)
            switchToConfig(cfg, prs)
        } catch {
            throw .invalidConfig("unable to restore configuration \(cs): \(error)")
        }
        if !hs.isEmpty {
            if hs.commit < log.committed || hs.commit > log.lastIndex {
                throw .invalidConfig("hard state commit \(hs.commit) is out of range [\(log.committed), \(log.lastIndex)]")
            }
            log.committed = hs.commit
            term = hs.term
            vote = hs.vote
        }
        if config.applied > 0 {
            if config.applied > log.committed {
                throw .invalidConfig("applied \(config.applied) is beyond the commit index \(log.committed)")
            }
            log.appliedTo(config.applied)
        }
        becomeFollower(term: term, lead: noNode)
    }

    var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }

    var softState: SoftState { SoftState(lead: lead, raftState: state) }

    /// Whether this node may become leader: it is a voter of the current configuration.
    var promotable: Bool {
        guard let pr = trk.progress[id] else { return false }
        return !pr.isLearner
    }

    // MARK: - Sending

    /// Queues `m` for the next `Ready`, stamping sender and (for non-local kinds) term.
    func send(_ message: Message) {
        var m = message
        m.from = id
        switch m.type {
        case .vote, .voteResp, .preVote, .preVoteResp:
            // Campaign messages always carry an explicit term (for pre-votes, a future one).
            precondition(m.term != 0, "term must be set when sending \(m.type)")
        default:
            precondition(m.term == 0, "term must not be set when sending \(m.type) (was \(m.term))")
            // Proposals and read requests are forwarded like local messages, without a term.
            if m.type != .prop && m.type != .readIndex { m.term = term }
        }
        msgs.append(m)
    }

    // MARK: - Role changes

    func reset(term newTerm: UInt64) {
        if term != newTerm {
            term = newTerm
            vote = noNode
        }
        lead = noNode
        electionElapsed = 0
        heartbeatElapsed = 0
        resetRandomizedElectionTimeout()
        leadTransferee = noNode
        trk.resetVotes()
        let last = log.lastIndex
        for (pid, pr) in trk.members {
            pr.resetForNewTerm(next: last + 1, match: pid == id ? last : 0)
        }
        pendingConfIndex = 0
        uncommittedSize = 0
        readOnly = ReadOnly(option: readOnly.option)
        pendingReadIndexMessages = []
        appendsPending = false
    }

    func resetRandomizedElectionTimeout() {
        randomizedElectionTimeout = electionTimeout + Int(rng.next(below: UInt64(electionTimeout)))
    }

    var pastElectionTimeout: Bool { electionElapsed >= randomizedElectionTimeout }

    func becomeFollower(term newTerm: UInt64, lead newLead: UInt64) {
        reset(term: newTerm)
        lead = newLead
        state = .follower
    }

    func becomeCandidate() {
        precondition(state != .leader, "invalid transition [leader -> candidate]")
        reset(term: term + 1)
        vote = id
        state = .candidate
    }

    func becomePreCandidate() {
        precondition(state != .leader, "invalid transition [leader -> pre-candidate]")
        // Neither the term nor the vote change: a pre-vote round must not disturb anyone.
        trk.resetVotes()
        lead = noNode
        state = .preCandidate
    }

    func becomeLeader() {
        precondition(state != .follower, "invalid transition [follower -> leader]")
        reset(term: term)
        lead = id
        state = .leader
        trk.progress[id]?.becomeReplicate()
        // Some entry in the log may be an unapplied conf change; rather than scanning for it,
        // treat everything up to the last index as possibly pending.
        pendingConfIndex = log.lastIndex
        // The empty entry of the new term lets the leader commit (and learn the commit index of)
        // earlier entries (§5.4.2, thesis §6.4 for reads). It is not counted against the
        // uncommitted-size quota.
        var empty = [Entry(term: 0, index: 0)]
        let accepted = appendEntries(&empty)
        precondition(accepted, "empty entry was dropped")
        uncommittedSize = 0
    }

    // MARK: - Elections

    func campaign(_ type: CampaignType) {
        // Such a term comes only from a damaged data dir; counting on could overflow.
        guard term < maxAcceptedTerm else { return }
        let voteType: MessageType
        let voteTerm: UInt64
        if type == .preElection {
            becomePreCandidate()
            voteType = .preVote
            // Pre-votes ask about the term we would campaign in, without moving to it.
            voteTerm = term + 1
        } else {
            becomeCandidate()
            voteType = .vote
            voteTerm = term
        }
        if poll(id, voteType.voteResponse, granted: true) == .won {
            // We are the only voter.
            if type == .preElection {
                campaign(.election)
            } else {
                becomeLeader()
            }
            return
        }
        let lastIndex = log.lastIndex
        let lastTerm = log.lastTerm
        for voter in trk.voterIDs where voter != id {
            send(Message(type: voteType, to: voter, term: voteTerm, logTerm: lastTerm, index: lastIndex,
                         context: type == .transfer ? campaignTransferContext : []))
        }
    }

    func poll(_ voter: UInt64, _ type: MessageType, granted: Bool) -> VoteResult {
        trk.recordVote(voter, granted: granted)
        return trk.tallyVotes().result
    }

    // MARK: - Ticks

    func tick() {
        switch state {
        case .follower, .candidate, .preCandidate: tickElection()
        case .leader: tickHeartbeat()
        }
    }

    private func tickElection() {
        electionElapsed += 1
        if promotable && pastElectionTimeout {
            electionElapsed = 0
            try? step(Message(type: .hup, from: id))
        }
    }

    private func tickHeartbeat() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= electionTimeout {
            electionElapsed = 0
            if checkQuorum {
                try? step(Message(type: .checkQuorum, from: id))
            }
            // A transfer that did not finish within an election timeout is abandoned.
            if state == .leader && leadTransferee != noNode {
                leadTransferee = noNode
            }
        }
        guard state == .leader else { return }
        if heartbeatElapsed >= heartbeatTimeout {
            heartbeatElapsed = 0
            try? step(Message(type: .beat, from: id))
        }
    }

    // MARK: - Appending

    /// Appends entries proposed to this leader, stamping term and index. Returns false (and
    /// appends nothing) if they would exceed the uncommitted-size limit.
    func appendEntries(_ es: inout [Entry]) -> Bool {
        let li = log.lastIndex
        for i in es.indices {
            es[i].term = term
            es[i].index = li + 1 + UInt64(i)
        }
        guard increaseUncommittedSize(es) else { return false }
        let newLast = log.append(es[...])
        trk.progress[id]?.maybeUpdate(newLast)
        // The caller broadcasts regardless of whether this commits anything.
        _ = maybeCommit()
        return true
    }

    /// `appendEntries` for a single entry.
    func appendEntry(_ entry: Entry) -> Bool {
        var e = entry
        e.term = term
        e.index = log.lastIndex + 1
        guard increaseUncommittedSize(CollectionOfOne(e)) else { return false }
        let newLast = log.append(CollectionOfOne(e))
        trk.progress[id]?.maybeUpdate(newLast)
        _ = maybeCommit()
        return true
    }

    /// Advances the commit index to what a quorum has; true if it moved.
    func maybeCommit() -> Bool {
        log.maybeCommit(trk.committed(), term: term)
    }

    func increaseUncommittedSize<C: Collection<Entry>>(_ ents: C) -> Bool {
        var s: UInt64 = 0
        for e in ents { s += e.payloadSize }
        // An empty tail accepts any single proposal, however large.
        if uncommittedSize > 0 && s > 0 && uncommittedSize + s > maxUncommittedSize { return false }
        uncommittedSize += s
        return true
    }

    func reduceUncommittedSize(_ ents: [Entry]) {
        if uncommittedSize == 0 { return }
        var s: UInt64 = 0
        for e in ents { s += e.payloadSize }
        // The estimate can only undercount (entries from a previous term are not tracked).
        uncommittedSize = s > uncommittedSize ? 0 : uncommittedSize - s
    }

    var committedEntryInCurrentTerm: Bool { log.termOrZero(log.committed) == term }
}

/// The volatile part of a node's state that the application may want to observe.
public struct SoftState: Sendable, Hashable {
    /// The current leader, 0 if unknown.
    public var lead: UInt64
    /// The node's role.
    public var raftState: RaftState

    /// A soft state.
    public init(lead: UInt64, raftState: RaftState) {
        self.lead = lead
        self.raftState = raftState
    }
}
