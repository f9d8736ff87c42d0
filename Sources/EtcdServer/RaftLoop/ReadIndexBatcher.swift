import Raft

/// Linearizable reads, batched into ReadIndex rounds: one round serves every read that was
/// waiting when it started, whatever their number. A read moves from waiting, to a round in
/// flight, to confirmed at a commit index, and is released once the member applied that
/// index. The Raft loop's thread only; time comes in as arguments.
struct ReadIndexBatcher {
    /// How long a round may go unanswered before it is asked again (a lost message, a leader
    /// that changed without anyone noticing yet).
    let retryAfter: Duration

    private var waiting: [ReadRequest] = []
    private var round: (context: UInt64, reads: [ReadRequest], issued: ContinuousClock.Instant)?
    private var confirmed: [(index: UInt64, reads: [ReadRequest])] = []
    private var lastContext: UInt64 = 0

    init(retryAfter: Duration) {
        self.retryAfter = retryAfter
    }

    /// Reads not yet finished, in any state.
    var count: Int { waiting.count + (round?.reads.count ?? 0) + confirmed.reduce(0) { $0 + $1.reads.count } }

    mutating func add(_ read: ReadRequest) {
        waiting.append(read)
    }

    /// Finishes the waiting reads whose deadline passed and, when no round is in flight (or
    /// the one in flight went unanswered too long), starts one for all waiting reads: returns
    /// the context to hand to `RawNode.readIndex`, nil when no round is to start.
    mutating func startRound(now: ContinuousClock.Instant) -> [UInt8]? {
        if let current = round, now - current.issued > retryAfter {
            round = nil
            waiting.insert(contentsOf: current.reads, at: 0)
        }
        waiting.removeAll { read in
            if read.deadline <= now {
                read.finish(.timeout)
                return true
            }
            return read.isDone
        }
        guard round == nil, !waiting.isEmpty else { return nil }
        lastContext += 1
        round = (lastContext, waiting, now)
        waiting = []
        return Self.context(lastContext)
    }

    /// Raft answered a round: its reads may run once `state.index` is applied.
    mutating func confirm(_ state: ReadState) {
        guard let current = round, state.requestContext == Self.context(current.context) else { return }
        round = nil
        confirmed.append((state.index, current.reads))
    }

    /// The leader changed: the round in flight was asked of a leader that is gone (etcd
    /// fails those reads with "leader changed"; clients retry).
    mutating func leaderChanged() {
        guard let current = round else { return }
        round = nil
        for read in current.reads { read.finish(.leaderChanged) }
    }

    /// Lets the confirmed reads at or below `appliedIndex` run.
    mutating func release(appliedIndex: UInt64) {
        confirmed.removeAll { batch in
            guard batch.index <= appliedIndex else { return false }
            for read in batch.reads { read.finish() }
            return true
        }
    }

    /// Fails every read (the member is stopping).
    mutating func failAll(_ error: EtcdError) {
        for read in waiting + (round?.reads ?? []) + confirmed.flatMap(\.reads) { read.finish(error) }
        waiting = []
        round = nil
        confirmed = []
    }

    /// A round's context as Raft carries it.
    private static func context(_ value: UInt64) -> [UInt8] { value.bigEndianBytes }
}
