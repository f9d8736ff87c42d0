/// How the leader currently replicates to one follower.
public enum ProgressState: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// The follower's log position is unknown: send one append at a time and wait for the answer.
    case probe
    /// The follower is caught up enough to stream appends optimistically, bounded by `Inflights`.
    case replicate
    /// The follower needs (and is being sent) a snapshot; appends are paused.
    case snapshot

    /// The etcd spelling (`StateProbe`, …).
    public var description: String {
        switch self {
        case .probe: return "StateProbe"
        case .replicate: return "StateReplicate"
        case .snapshot: return "StateSnapshot"
        }
    }
}

/// The leader's view of one follower (or learner): what it has, what to send next, how.
/// A reference type because the leader updates it from many code paths while handling a message.
final class Progress {
    /// Highest index known to be replicated on the follower.
    var match: UInt64
    /// Index of the next entry to send.
    var next: UInt64
    var state: ProgressState = .probe
    /// While in `.snapshot`: the index of the snapshot being sent.
    var pendingSnapshot: UInt64 = 0
    /// Heard from since the last check-quorum round.
    var recentActive: Bool
    /// While probing: an append was sent and we are waiting for its answer.
    var probeSent = false
    var inflights: Inflights
    var isLearner: Bool

    init(match: UInt64 = 0, next: UInt64, maxInflight: Int, isLearner: Bool, recentActive: Bool = false) {
        self.match = match
        self.next = next
        self.inflights = Inflights(capacity: maxInflight)
        self.isLearner = isLearner
        self.recentActive = recentActive
    }

    /// An independent copy (configuration changes work on copies).
    func clone() -> Progress {
        let p = Progress(match: match, next: next, maxInflight: inflights.capacity, isLearner: isLearner)
        p.state = state
        p.pendingSnapshot = pendingSnapshot
        p.recentActive = recentActive
        p.probeSent = probeSent
        p.inflights = inflights
        return p
    }

    /// Forget everything learned about the follower (a new term or role begins).
    func resetForNewTerm(next newNext: UInt64, match newMatch: UInt64) {
        resetState(.probe)
        match = newMatch
        next = newNext
        recentActive = false
    }

    private func resetState(_ newState: ProgressState) {
        probeSent = false
        pendingSnapshot = 0
        state = newState
        inflights.reset()
    }

    /// Go back to probing, starting after what is known to match (or after the snapshot that
    /// was just sent, which the follower presumably installed).
    func becomeProbe() {
        if state == .snapshot {
            let pending = pendingSnapshot
            resetState(.probe)
            next = max(match + 1, pending + 1)
        } else {
            resetState(.probe)
            next = match + 1
        }
    }

    /// Start streaming right after `match`.
    func becomeReplicate() {
        resetState(.replicate)
        next = match + 1
    }

    /// Pause appends while the snapshot at `index` is sent.
    func becomeSnapshot(_ index: UInt64) {
        resetState(.snapshot)
        pendingSnapshot = index
    }

    /// The follower acknowledged everything up to `index`. Returns false if that was old news.
    @discardableResult
    func maybeUpdate(_ index: UInt64) -> Bool {
        var updated = false
        if match < index {
            match = index
            updated = true
            probeSent = false
        }
        if next < index + 1 { next = index + 1 }
        return updated
    }

    /// Entries up to `index` were just sent in replicate mode.
    func optimisticUpdate(_ index: UInt64) { next = index + 1 }

    /// The follower rejected the append at `rejected`; `matchHint` is the highest index that may
    /// still match. Returns false when the rejection is stale and must be ignored.
    func maybeDecrTo(rejected: UInt64, matchHint: UInt64) -> Bool {
        if state == .replicate {
            // Appends are pipelined: only a rejection above what is known to match is news.
            if rejected <= match { return false }
            next = match + 1
            return true
        }
        // While probing only the answer to the latest probe counts.
        if next == 0 || next - 1 != rejected { return false }
        next = max(min(rejected, matchHint + 1), 1)
        probeSent = false
        return true
    }

    /// True when no append may be sent right now.
    var isPaused: Bool {
        switch state {
        case .probe: return probeSent
        case .replicate: return inflights.isFull
        case .snapshot: return true
        }
    }

    /// A value copy for `Status`.
    var status: ProgressStatus {
        ProgressStatus(
            match: match, next: next, state: state, pendingSnapshot: pendingSnapshot,
            recentActive: recentActive, probeSent: probeSent, inflightCount: inflights.count,
            isLearner: isLearner, isPaused: isPaused)
    }
}

/// A snapshot of the leader's view of one follower, as reported by `RawNode.status()`.
public struct ProgressStatus: Sendable, Hashable {
    /// Highest index known to be replicated on the member.
    public var match: UInt64
    /// Next index to send.
    public var next: UInt64
    /// How the leader replicates to the member.
    public var state: ProgressState
    /// Index of the snapshot being sent (in `.snapshot`).
    public var pendingSnapshot: UInt64
    /// Heard from since the last check-quorum round.
    public var recentActive: Bool
    /// A probe is outstanding (in `.probe`).
    public var probeSent: Bool
    /// Append messages in flight (in `.replicate`).
    public var inflightCount: Int
    /// The member is a learner.
    public var isLearner: Bool
    /// No append may be sent right now.
    public var isPaused: Bool
}

/// Progress of every member, keyed by id and iterated in ascending id order.
struct ProgressMap {
    private(set) var ids: [UInt64] = []
    private(set) var values: [Progress] = []

    var count: Int { ids.count }

    subscript(id: UInt64) -> Progress? {
        guard let i = index(of: id) else { return nil }
        return values[i]
    }

    func index(of id: UInt64) -> Int? {
        var lo = 0
        var hi = ids.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ids[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < ids.count && ids[lo] == id ? lo : nil
    }

    mutating func set(_ id: UInt64, _ pr: Progress) {
        var lo = 0
        while lo < ids.count && ids[lo] < id { lo += 1 }
        if lo < ids.count && ids[lo] == id {
            values[lo] = pr
        } else {
            ids.insert(id, at: lo)
            values.insert(pr, at: lo)
        }
    }

    mutating func remove(_ id: UInt64) {
        guard let i = index(of: id) else { return }
        ids.remove(at: i)
        values.remove(at: i)
    }

    /// Deep copy.
    func clone() -> ProgressMap {
        var m = ProgressMap()
        m.ids = ids
        m.values = values.map { $0.clone() }
        return m
    }
}
