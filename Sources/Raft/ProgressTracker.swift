/// The membership as Raft tracks it: who votes (possibly jointly), who learns.
public struct TrackerConfig: Sendable, Hashable, CustomStringConvertible {
    /// The voters, possibly in a joint configuration.
    public var voters: JointConfig
    /// Leave the joint configuration automatically once it is committed.
    public var autoLeave: Bool
    /// Non-voting members; never overlaps with either half of `voters`.
    public var learners: NodeSet
    /// Outgoing voters that become learners when the joint configuration is left (a voter
    /// cannot be a learner at the same time, so the demotion is staged here).
    public var learnersNext: NodeSet

    /// A membership configuration.
    public init(voters: JointConfig = JointConfig(), autoLeave: Bool = false, learners: NodeSet = [], learnersNext: NodeSet = []) {
        self.voters = voters
        self.autoLeave = autoLeave
        self.learners = learners
        self.learnersNext = learnersNext
    }

    /// The equivalent `ConfState` (what snapshots record).
    public var confState: ConfState {
        ConfState(
            voters: voters.incoming.ids, learners: learners.ids, votersOutgoing: voters.outgoing.ids,
            learnersNext: learnersNext.ids, autoLeave: autoLeave)
    }

    /// etcd-style rendering: `voters=(1 2 3) learners=(4)`.
    public var description: String {
        var s = "voters=\(voters)"
        if !learners.isEmpty { s += " learners=\(learners)" }
        if !learnersNext.isEmpty { s += " learners_next=\(learnersNext)" }
        if autoLeave { s += " autoleave" }
        return s
    }
}

/// Tracks the configuration, every member's replication progress and the votes of the current
/// election.
struct ProgressTracker {
    var config = TrackerConfig()
    var progress = ProgressMap()
    /// Votes received in the current election (a dictionary, but only ever looked up).
    var votes: [UInt64: Bool] = [:]
    let maxInflight: Int

    init(maxInflight: Int) {
        self.maxInflight = maxInflight
    }

    /// True when the only voter is a single node (which then decides everything alone).
    var isSingleton: Bool { config.voters.incoming.count == 1 && config.voters.outgoing.isEmpty }

    /// The highest index replicated on a quorum.
    func committed() -> UInt64 {
        let prs = progress
        return config.voters.committedIndex { id in prs[id]?.match }
    }

    /// Whether a quorum of voters was heard from since the last check.
    func quorumActive() -> Bool {
        let prs = progress
        return config.voters.voteResult { id in
            guard let pr = prs[id], !pr.isLearner else { return nil }
            return pr.recentActive
        } == .won
    }

    /// Voters, ascending.
    var voterIDs: NodeSet { config.voters.ids }

    mutating func resetVotes() { votes.removeAll(keepingCapacity: true) }

    /// Records a vote; only the first answer from a node counts.
    mutating func recordVote(_ id: UInt64, granted: Bool) {
        if votes[id] == nil { votes[id] = granted }
    }

    /// Counts granted and rejected votes among voters, and whether the election is decided.
    func tallyVotes() -> (granted: Int, rejected: Int, result: VoteResult) {
        var granted = 0
        var rejected = 0
        for (i, id) in progress.ids.enumerated() where !progress.values[i].isLearner {
            switch votes[id] {
            case .some(true): granted += 1
            case .some(false): rejected += 1
            case .none: break
            }
        }
        let v = votes
        return (granted, rejected, config.voters.voteResult { v[$0] })
    }

    /// Every member with its progress, in ascending id order. A detached sequence, so the
    /// loop body may freely use the tracker.
    var members: Zip2Sequence<[UInt64], [Progress]> { zip(progress.ids, progress.values) }
}
