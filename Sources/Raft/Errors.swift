/// Errors returned by the Raft node's API.
public enum RaftError: Error, Sendable, Hashable {
    /// The proposal was not appended: there is no leader, forwarding is disabled, a leadership
    /// transfer is under way, this node was removed, or the uncommitted-size limit was reached
    /// (etcd's `ErrProposalDropped`). The caller may retry later.
    case proposalDropped
    /// `step` was handed a message kind that only the node itself may generate.
    case stepLocalMessage
    /// `step` was handed a response from a node that is not in the configuration.
    case stepPeerNotFound
    /// The configuration is unusable; the text says why.
    case invalidConfig(String)
    /// `bootstrap` was called on a node whose storage already holds a log.
    case storageNotEmpty
    /// `bootstrap` was called with no peers.
    case noPeers
    /// A membership change entry could not be decoded.
    case malformedConfChange(CodecError)
    /// A peer's message was dropped unstepped; the reason says why.
    case messageDropped(MessageDropReason)
}

/// Errors a `Storage` reports to Raft.
public enum StorageError: Error, Sendable, Hashable {
    /// The requested index was discarded by log compaction (a snapshot covers it).
    case compacted
    /// The requested index is past the end of the log.
    case unavailable
    /// The snapshot is older than the one already held.
    case snapshotOutOfDate
    /// No snapshot can be produced right now; Raft will try again later.
    case snapshotTemporarilyUnavailable
}

/// Why a membership change could not be applied; the configuration is left unchanged.
public struct ConfChangeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong with the change.
    public var description: String

    /// An error with the given explanation.
    public init(_ description: String) { self.description = description }
}
