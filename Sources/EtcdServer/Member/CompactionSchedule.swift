import EtcdConfiguration

/// When the leader compacts, as etcd's compactors decide it; pure, so the schedule can be
/// tested without waiting for it.
///
/// - Periodic, retention P: every P/10 (at most 6 minutes) the current revision is sampled;
///   once P has passed since the last compaction (since the start, the first time; then at
///   most an hour), the store is compacted to the oldest sample, the revision of P ago.
/// - Revision, retention N: every 5 minutes, compact to the current revision minus N.
struct CompactionSchedule: Sendable {
    typealias Policy = ServerConfig.AutoCompaction
    let policy: Policy
    private var samples: [Int64] = []
    private var lastRevision: Int64 = 0
    private var lastSuccess: ContinuousClock.Instant
    private var wait: Duration

    init(_ policy: Policy, now: ContinuousClock.Instant) {
        self.policy = policy
        lastSuccess = now
        if case .periodic(let period) = policy { wait = period } else { wait = .zero }
    }

    /// How long to sleep between looks.
    var interval: Duration {
        switch policy {
        case .periodic(let period): min(period, .seconds(3600)) / 10
        case .revision: .seconds(300)
        }
    }

    /// Records the store's revision before a sleep (periodic mode keeps a window of them).
    mutating func sample(_ revision: Int64) {
        guard case .periodic(let period) = policy else { return }
        samples.append(revision)
        let kept = Int(period / interval) + 1
        if samples.count > kept { samples.removeFirst(samples.count - kept) }
    }

    /// After a sleep: the revision to compact to now, or nil.
    func due(now: ContinuousClock.Instant, currentRevision: Int64) -> Int64? {
        switch policy {
        case .periodic:
            guard let oldest = samples.first, now - lastSuccess >= wait, oldest != lastRevision else { return nil }
            return oldest
        case .revision(let retention):
            let target = currentRevision - retention
            return target <= 0 || target == lastRevision ? nil : target
        }
    }

    /// A compaction to `revision` succeeded (or was already done).
    mutating func compacted(_ revision: Int64, now: ContinuousClock.Instant) {
        lastRevision = revision
        lastSuccess = now
        if case .periodic(let period) = policy { wait = min(period, .seconds(3600)) }
    }
}
