import Auth
import EtcdConfiguration
import EtcdProto
import Logging

/// etcd's auto-compaction (`--auto-compaction-mode`, `--auto-compaction-retention`).
extension EtcdServer {
    /// Runs until cancelled: every member samples its revision on the schedule, and the one
    /// that leads proposes the compactions (a follower's compactor is paused, as etcd's is).
    func runAutoCompaction(_ policy: ServerConfig.AutoCompaction) async {
        var schedule = CompactionSchedule(policy, now: .now)
        let (mode, setting): (String, Logger.MetadataValue) =
            switch policy {
            case .periodic(let period): ("periodic", ["compact-period": "\(formatDuration(period))"])
            case .revision(let retention): ("revision", ["revision-compaction-retention": "\(retention)"])
            }
        while !Task.isCancelled {
            schedule.sample(store.revision)
            try? await Task.sleep(for: schedule.interval)
            guard isLeader, let revision = schedule.due(now: .now, currentRevision: store.revision) else { continue }
            var metadata: Logger.Metadata = ["revision": "\(revision)"]
            if case .dictionary(let extra) = setting { metadata.merge(extra) { $1 } }
            logger.info("starting auto \(mode) compaction", metadata: metadata)
            let started = ContinuousClock.now
            var request = Etcdserverpb_CompactionRequest()
            request.revision = revision
            do {
                // The member's own request: it runs with root's rights, as etcd's compactor does.
                _ = try await propose(.compaction(request), as: AuthInfo(username: AuthState.root, revision: auth.state.revision))
            } catch where error != .compacted {
                logger.warning("failed auto \(mode) compaction", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                continue
            } catch {}
            schedule.compacted(revision, now: .now)
            logger.info(
                "completed auto \(mode) compaction",
                metadata: metadata.merging(["took": "\(formatDuration(ContinuousClock.now - started))"]) { $1 })
        }
    }
}
