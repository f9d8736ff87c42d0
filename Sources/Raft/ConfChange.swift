/// What a single membership change does to one node (etcd's `ConfChangeType`, same numbers).
public enum ConfChangeType: UInt8, Sendable, Hashable, CaseIterable {
    /// Add the node as a voter, or promote a learner to voter.
    case addNode = 0
    /// Remove the node from the configuration.
    case removeNode = 1
    /// Change nothing in Raft; the application may update the node's metadata (its `context`).
    case updateNode = 2
    /// Add the node as a learner, or demote a voter to learner.
    case addLearnerNode = 3
}

/// A single-step membership change (etcd's `ConfChange`, "V1"). Changes at most one voter.
public struct ConfChange: Sendable, Hashable {
    /// An application id threaded through by etcd's server (no counterpart in `ConfChangeV2`).
    public var id: UInt64
    /// What happens to `nodeID`.
    public var type: ConfChangeType
    /// The node the change is about.
    public var nodeID: UInt64
    /// Application payload (for swetcd: the encoded member being added or updated).
    public var context: [UInt8]

    /// A single-step change of `nodeID`.
    public init(id: UInt64 = 0, type: ConfChangeType, nodeID: UInt64, context: [UInt8] = []) {
        self.id = id
        self.type = type
        self.nodeID = nodeID
        self.context = context
    }
}

/// One change inside a `ConfChangeV2`.
public struct ConfChangeSingle: Sendable, Hashable {
    /// What happens to `nodeID`.
    public var type: ConfChangeType
    /// The node the change is about.
    public var nodeID: UInt64

    /// One change of `nodeID`.
    public init(type: ConfChangeType, nodeID: UInt64) {
        self.type = type
        self.nodeID = nodeID
    }
}

/// How a `ConfChangeV2` moves between configurations (etcd's `ConfChangeTransition`).
public enum ConfChangeTransition: UInt8, Sendable, Hashable, CaseIterable {
    /// Use a single step if possible (one voter changes), otherwise a joint configuration
    /// that Raft leaves automatically once it is committed.
    case auto = 0
    /// Always go through a joint configuration, left automatically.
    case jointImplicit = 1
    /// Always go through a joint configuration; the application must leave it by proposing an
    /// empty `ConfChangeV2`.
    case jointExplicit = 2
}

/// A membership change that may change several nodes at once through joint consensus.
/// An empty change (no `changes`, `.auto` transition) means "leave the joint configuration".
public struct ConfChangeV2: Sendable, Hashable {
    /// Whether (and how) a joint configuration is used.
    public var transition: ConfChangeTransition
    /// The changes, applied in order.
    public var changes: [ConfChangeSingle]
    /// Application payload carried with the change.
    public var context: [UInt8]

    /// A change; the default value is the empty change that leaves a joint configuration.
    public init(transition: ConfChangeTransition = .auto, changes: [ConfChangeSingle] = [], context: [UInt8] = []) {
        self.transition = transition
        self.changes = changes
        self.context = context
    }

    /// If this change must go through a joint configuration: whether that configuration is left
    /// automatically (`true`) or by an explicit empty change (`false`). `nil` when a simple
    /// (single-step) change suffices.
    public var enterJointAutoLeave: Bool? {
        guard transition != .auto || changes.count > 1 else { return nil }
        switch transition {
        case .auto, .jointImplicit: return true
        case .jointExplicit: return false
        }
    }

    /// True for the empty change that asks to leave a joint configuration.
    public var leaveJoint: Bool { transition == .auto && changes.isEmpty }
}

/// Either flavour of membership change; lets the API accept both like etcd's `ConfChangeI`.
public protocol ConfChangeConvertible: Sendable {
    /// The change expressed as a `ConfChangeV2`.
    var asV2: ConfChangeV2 { get }
    /// The change as a `ConfChange`, when it is one.
    var asV1: ConfChange? { get }
}

extension ConfChange: ConfChangeConvertible {
    /// The single change wrapped in a `ConfChangeV2` with the `.auto` transition.
    public var asV2: ConfChangeV2 {
        ConfChangeV2(transition: .auto, changes: [ConfChangeSingle(type: type, nodeID: nodeID)], context: context)
    }
    /// The change itself.
    public var asV1: ConfChange? { self }
}

extension ConfChangeV2: ConfChangeConvertible {
    /// The change itself.
    public var asV2: ConfChangeV2 { self }
    /// Always nil: a `ConfChangeV2` has no V1 form.
    public var asV1: ConfChange? { nil }
}

extension ConfChangeConvertible {
    /// The log entry that carries this change: `.confChange` for V1, `.confChangeV2` otherwise.
    public func makeEntry() -> Entry {
        if let v1 = asV1 {
            return Entry(term: 0, index: 0, type: .confChange, data: v1.encoded())
        }
        return Entry(term: 0, index: 0, type: .confChangeV2, data: asV2.encoded())
    }
}

extension Entry {
    /// Decodes the membership change carried by a `.confChange` or `.confChangeV2` entry,
    /// normalised to `ConfChangeV2`; `nil` for normal entries.
    public func decodeConfChange() throws(CodecError) -> ConfChangeV2? {
        switch type {
        case .normal: return nil
        case .confChange: return try ConfChange(decoding: data).asV2
        case .confChangeV2: return try ConfChangeV2(decoding: data)
        }
    }

    /// The bytes counted against `maxUncommittedEntriesSize` (the payload only).
    public var payloadSize: UInt64 { UInt64(data.count) }

    /// The bytes counted against `maxSizePerMsg` and `maxCommittedSizePerReady`: the payload
    /// plus a small fixed allowance for term, index and type.
    public var sizeEstimate: UInt64 { UInt64(data.count) + 24 }
}
