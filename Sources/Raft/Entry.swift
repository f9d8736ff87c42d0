/// What a log entry carries: an opaque proposal, or a change to the cluster configuration.
public enum EntryType: UInt8, Sendable, Hashable {
    /// Application data (for swetcd: an encoded client request); empty data marks a
    /// leader's no-op entry at the start of its term.
    case normal = 0
    /// A single-step configuration change (`ConfChange`, encoded in `data`).
    case confChange = 1
    /// A joint-consensus capable configuration change (`ConfChangeV2`, encoded in `data`).
    case confChangeV2 = 2
}

/// One record of the replicated log.
public struct Entry: Sendable, Hashable {
    /// The term of the leader that created the entry.
    public var term: UInt64
    /// Position in the log, from 1.
    public var index: UInt64
    /// What `data` holds.
    public var type: EntryType
    /// The payload.
    public var data: [UInt8]

    /// An entry; Raft assigns term and index when the entry is proposed.
    public init(term: UInt64, index: UInt64, type: EntryType = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.type = type
        self.data = data
    }
}
