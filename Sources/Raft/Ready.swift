/// Everything a node wants done after some ticks and steps, collected by `RawNode.ready()`.
///
/// Handle it in this order, then call `RawNode.advance()`:
/// 1. Persist `hardState` (if set), `entries` and `snapshot` (if set) to stable storage,
///    atomically as one batch (fsync it when `mustSync`). Entries may overwrite a suffix of the
///    persisted log: drop the persisted entries at and after `entries[0].index`.
/// 2. Only then send `messages` (they promise what step 1 made durable: votes, appended
///    entries). If one is a `snap` message, report the outcome with `reportSnapshot`.
/// 3. Apply `snapshot` (if set) to the state machine, then `committedEntries` in order; for
///    conf-change entries call `applyConfChange`.
/// 4. Serve `readStates`: each read may run once the applied index reaches its `index`.
public struct Ready: Sendable {
    /// The leader or role changed (nil when unchanged). Not persisted.
    public var softState: SoftState?
    /// The new hard state to persist; nil when unchanged since the last `Ready`.
    public var hardState: HardState?
    /// Answers to `readIndex` requests.
    public var readStates: [ReadState]
    /// Entries to append to stable storage before sending `messages`.
    public var entries: [Entry]
    /// A snapshot received from the leader, to persist (before `messages`) and apply.
    public var snapshot: Snapshot?
    /// Committed entries to apply to the state machine, in order. They were persisted by an
    /// earlier (or this) `Ready`.
    public var committedEntries: [Entry]
    /// Messages to send once step 1 is durable.
    public var messages: [Message]
    /// Whether step 1 must be synced to disk (new entries, or a changed term or vote) before
    /// `messages` go out; a mere commit-index change may be written lazily.
    public var mustSync: Bool

    /// A Ready with the given parts (for tests and adapters; nodes build their own).
    public init(
        softState: SoftState? = nil, hardState: HardState? = nil, readStates: [ReadState] = [],
        entries: [Entry] = [], snapshot: Snapshot? = nil, committedEntries: [Entry] = [],
        messages: [Message] = [], mustSync: Bool = false
    ) {
        self.softState = softState
        self.hardState = hardState
        self.readStates = readStates
        self.entries = entries
        self.snapshot = snapshot
        self.committedEntries = committedEntries
        self.messages = messages
        self.mustSync = mustSync
    }

    /// True if there is anything at all to do.
    public var containsUpdates: Bool {
        softState != nil || hardState != nil || snapshot != nil || !entries.isEmpty
            || !committedEntries.isEmpty || !messages.isEmpty || !readStates.isEmpty
    }
}

/// The outcome of sending a snapshot, reported through `RawNode.reportSnapshot`.
public enum SnapshotStatus: Sendable, Hashable {
    /// The follower received the snapshot.
    case finish
    /// Sending failed; the leader will probe the follower again.
    case failure
}

/// A member of the initial configuration of a new cluster, for `RawNode.bootstrap`.
public struct Peer: Sendable, Hashable {
    /// The node id.
    public var id: UInt64
    /// Application data carried in the bootstrap `ConfChange` (for swetcd: the member record).
    public var context: [UInt8]

    /// A founding member.
    public init(id: UInt64, context: [UInt8] = []) {
        self.id = id
        self.context = context
    }
}

/// A node's state as reported by `RawNode.status()`.
public struct Status: Sendable {
    /// The node id.
    public var id: UInt64
    /// Term, vote and commit index.
    public var hardState: HardState
    /// Leader and role.
    public var softState: SoftState
    /// Highest index handed out for applying.
    public var applied: UInt64
    /// Target of an ongoing leadership transfer, 0 if none.
    public var leadTransferee: UInt64
    /// The current membership.
    public var config: TrackerConfig
    /// Per-member replication progress; only filled in on the leader.
    public var progress: [UInt64: ProgressStatus]
}
