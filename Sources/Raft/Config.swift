/// How read-only queries are made linearizable.
public enum ReadOnlyOption: Sendable, Hashable {
    /// Confirm leadership with a quorum of heartbeat acknowledgements before answering (the
    /// ReadIndex protocol of the Raft thesis §6.4). Safe regardless of clocks; the default.
    case safe
    /// Answer from the leader's lease without a round trip (thesis §6.4.1). Relies on bounded
    /// clock drift and message delay; requires `checkQuorum`.
    case leaseBased
}

/// The parameters of one Raft node. Pure data: time is counted in `tick()` calls and all
/// randomness comes from `seed`, so a node replays identically given the same inputs.
public struct Config: Sendable, Hashable {
    /// This node's id; must not be 0.
    public var id: UInt64
    /// Ticks without hearing from a leader before a follower campaigns. The actual timeout is
    /// drawn from `[electionTick, 2 * electionTick)` after every state change.
    public var electionTick: Int
    /// Ticks between leader heartbeats; must be smaller than `electionTick`.
    public var heartbeatTick: Int
    /// The last index the application has applied, when restarting; committed entries at or
    /// below it are not handed out again. Leave it 0 to mean "the storage's snapshot index":
    /// the membership is restored from the snapshot, and the conf-change entries after it must
    /// come out of `Ready` again so that `applyConfChange` brings the membership up to date
    /// (the application skips re-applying what its state already reflects, as etcd does with
    /// its consistent index). Never set it beyond the snapshot index if entries after the
    /// snapshot may hold membership changes.
    public var applied: UInt64
    /// Maximum bytes of entries (see `Entry.sizeEstimate`) in one append message; at least one
    /// entry is always sent. 0 means one entry per message, `UInt64.max` means no limit.
    public var maxSizePerMsg: UInt64
    /// Maximum bytes of committed entries handed out by one `Ready`; 0 means `maxSizePerMsg`.
    public var maxCommittedSizePerReady: UInt64
    /// Maximum append messages in flight to one follower while replicating optimistically.
    public var maxInflightMsgs: Int
    /// Maximum payload bytes of uncommitted entries on the leader; further proposals are
    /// dropped. A proposal is always accepted when nothing is uncommitted. 0 means no limit.
    public var maxUncommittedEntriesSize: UInt64
    /// The leader steps down when it has not heard from a quorum for an election timeout, and
    /// followers that heard from a leader recently ignore vote requests (thesis §6.2, §9.6).
    public var checkQuorum: Bool
    /// Run a pre-vote round before incrementing the term, so a node rejoining after a partition
    /// cannot disrupt a healthy cluster (thesis §9.6).
    public var preVote: Bool
    /// How `readIndex` requests are served.
    public var readOnlyOption: ReadOnlyOption
    /// Followers drop proposals instead of forwarding them to the leader.
    public var disableProposalForwarding: Bool
    /// Seed of the node's pseudo-random generator (randomized election timeouts). It is mixed
    /// with `id`, so nodes sharing a seed still draw different timeouts.
    public var seed: UInt64

    /// A configuration with etcd-like defaults (election 10 ticks, heartbeat 1 tick, 1 MiB
    /// messages, 256 in-flight appends, no uncommitted limit, safe reads).
    public init(
        id: UInt64, electionTick: Int = 10, heartbeatTick: Int = 1, applied: UInt64 = 0,
        maxSizePerMsg: UInt64 = 1 << 20, maxCommittedSizePerReady: UInt64 = 0, maxInflightMsgs: Int = 256,
        maxUncommittedEntriesSize: UInt64 = 0, checkQuorum: Bool = false, preVote: Bool = false,
        readOnlyOption: ReadOnlyOption = .safe, disableProposalForwarding: Bool = false, seed: UInt64 = 0
    ) {
        self.id = id
        self.electionTick = electionTick
        self.heartbeatTick = heartbeatTick
        self.applied = applied
        self.maxSizePerMsg = maxSizePerMsg
        self.maxCommittedSizePerReady = maxCommittedSizePerReady
        self.maxInflightMsgs = maxInflightMsgs
        self.maxUncommittedEntriesSize = maxUncommittedEntriesSize
        self.checkQuorum = checkQuorum
        self.preVote = preVote
        self.readOnlyOption = readOnlyOption
        self.disableProposalForwarding = disableProposalForwarding
        self.seed = seed
    }

    /// Checks the parameters, throwing `RaftError.invalidConfig` with the reason.
    public func validate() throws(RaftError) {
        if id == noNode { throw .invalidConfig("cannot use 0 as id") }
        if heartbeatTick <= 0 { throw .invalidConfig("heartbeat tick must be greater than 0") }
        if electionTick <= heartbeatTick {
            throw .invalidConfig("election tick must be greater than heartbeat tick")
        }
        if maxInflightMsgs <= 0 { throw .invalidConfig("max inflight messages must be greater than 0") }
        if readOnlyOption == .leaseBased && !checkQuorum {
            throw .invalidConfig("checkQuorum must be enabled when readOnlyOption is leaseBased")
        }
    }
}
