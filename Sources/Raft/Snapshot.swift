/// The membership a snapshot or the log was taken under.
public struct ConfState: Sendable, Hashable {
    /// Voters of the (incoming) configuration.
    public var voters: [UInt64]
    /// Learners (non-voting members).
    public var learners: [UInt64]
    /// Voters of the outgoing configuration while in a joint configuration; empty otherwise.
    public var votersOutgoing: [UInt64]
    /// Voters of the outgoing configuration that become learners once the joint state is left.
    public var learnersNext: [UInt64]
    /// Leave the joint configuration automatically once it is committed.
    public var autoLeave: Bool

    /// A configuration description.
    public init(
        voters: [UInt64] = [], learners: [UInt64] = [], votersOutgoing: [UInt64] = [],
        learnersNext: [UInt64] = [], autoLeave: Bool = false
    ) {
        self.voters = voters
        self.learners = learners
        self.votersOutgoing = votersOutgoing
        self.learnersNext = learnersNext
        self.autoLeave = autoLeave
    }
}

/// Where a snapshot sits in the log and which configuration it carries.
public struct SnapshotMetadata: Sendable, Hashable {
    /// The membership at `index`.
    public var confState: ConfState
    /// The last log index the snapshot covers.
    public var index: UInt64
    /// The term of the entry at `index`.
    public var term: UInt64

    /// Snapshot metadata.
    public init(confState: ConfState = ConfState(), index: UInt64 = 0, term: UInt64 = 0) {
        self.confState = confState
        self.index = index
        self.term = term
    }
}

/// The application state up to `metadata.index`, replacing every log entry before it.
public struct Snapshot: Sendable, Hashable {
    /// The serialized application state.
    public var data: [UInt8]
    /// Position and membership.
    public var metadata: SnapshotMetadata

    /// A snapshot; the default is the empty snapshot (index 0).
    public init(data: [UInt8] = [], metadata: SnapshotMetadata = SnapshotMetadata()) {
        self.data = data
        self.metadata = metadata
    }

    /// True for the empty snapshot (index 0).
    public var isEmpty: Bool { metadata.index == 0 }
}
