/// The part of a node's Raft state that must be on stable storage before it answers a message.
public struct HardState: Sendable, Hashable {
    /// The latest term the node has seen.
    public var term: UInt64
    /// The candidate voted for in `term`, 0 for none.
    public var vote: UInt64
    /// Highest log index known to be committed.
    public var commit: UInt64

    /// A hard state; the default is the empty state of a brand-new node.
    public init(term: UInt64 = 0, vote: UInt64 = 0, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }

    /// True when nothing has been recorded yet (a brand-new node).
    public var isEmpty: Bool { term == 0 && vote == 0 && commit == 0 }
}
