/// The outcome of counting votes.
public enum VoteResult: Sendable, Hashable {
    /// Not decided yet: the missing votes could still tip it either way.
    case pending
    /// Cannot be won any more.
    case lost
    /// A quorum granted it.
    case won
}

/// A simple majority configuration: a set of voters where any majority is a quorum.
public typealias MajorityConfig = NodeSet

extension NodeSet {
    /// The largest index acknowledged by a majority of the voters in this set. `acked` returns
    /// a voter's acknowledged index, or nil if unknown (counted as 0). An empty configuration
    /// returns `UInt64.max`, so that joining it with another config defers to the other.
    public func committedIndex(_ acked: (UInt64) -> UInt64?) -> UInt64 {
        let n = ids.count
        if n == 0 { return .max }
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { buf in
            for (i, id) in ids.enumerated() {
                buf[i] = acked(id) ?? 0
            }
            // Insertion sort: n is tiny (a handful of voters).
            for i in 1..<Swift.max(n, 1) {
                let v = buf[i]
                var j = i
                while j > 0 && buf[j - 1] > v {
                    buf[j] = buf[j - 1]
                    j -= 1
                }
                buf[j] = v
            }
            // With ascending order, the value at n - quorum is held by a quorum of voters.
            return buf[n - (n / 2 + 1)]
        }
    }

    /// Tallies `votes` (true = granted, false = rejected, nil = not yet voted) over this set.
    /// An empty configuration wins every vote, for the same reason as in `committedIndex`.
    public func voteResult(_ votes: (UInt64) -> Bool?) -> VoteResult {
        if ids.isEmpty { return .won }
        var yes = 0
        var missing = 0
        for id in ids {
            switch votes(id) {
            case .some(true): yes += 1
            case .some(false): break
            case .none: missing += 1
            }
        }
        let quorum = ids.count / 2 + 1
        if yes >= quorum { return .won }
        if yes + missing >= quorum { return .pending }
        return .lost
    }
}

/// Two majority configurations, both of which must agree: the joint configuration of the
/// thesis §4.3. Outside of a membership change `outgoing` is empty and only `incoming` counts.
public struct JointConfig: Sendable, Hashable, CustomStringConvertible {
    /// The new (or only) voters.
    public var incoming: MajorityConfig
    /// The old voters while a joint change is in progress; empty otherwise.
    public var outgoing: MajorityConfig

    /// A configuration; leave `outgoing` empty for a simple (non-joint) one.
    public init(incoming: MajorityConfig = [], outgoing: MajorityConfig = []) {
        self.incoming = incoming
        self.outgoing = outgoing
    }

    /// Every voter of either half.
    public var ids: NodeSet { incoming.union(outgoing) }

    /// True while in a joint configuration.
    public var isJoint: Bool { !outgoing.isEmpty }

    /// The largest index committed by both halves.
    public func committedIndex(_ acked: (UInt64) -> UInt64?) -> UInt64 {
        min(incoming.committedIndex(acked), outgoing.committedIndex(acked))
    }

    /// A vote is won when both halves win it and lost when either loses it.
    public func voteResult(_ votes: (UInt64) -> Bool?) -> VoteResult {
        let a = incoming.voteResult(votes)
        let b = outgoing.voteResult(votes)
        if a == b { return a }
        if a == .lost || b == .lost { return .lost }
        return .pending
    }

    /// `(1 2 3)`, or `(1 2 3)&&(3 4 5)` when joint.
    public var description: String {
        outgoing.isEmpty ? incoming.description : "\(incoming)&&\(outgoing)"
    }
}
