import CoreMetrics
import Metrics

/// The member's metrics, under etcd's metric names so existing dashboards and alerts work.
/// Created when the server starts, after the process chose its metrics backend (metrics
/// created before that would be no-ops).
final class ServerMetrics: Sendable {
    let walFsyncDuration = Metrics.Timer(label: "etcd_disk_wal_fsync_duration_seconds")
    let backendCommitDuration = Metrics.Timer(label: "etcd_disk_backend_commit_duration_seconds")

    let proposalsCommitted = Gauge(label: "etcd_server_proposals_committed_total")
    let proposalsApplied = Gauge(label: "etcd_server_proposals_applied_total")
    let proposalsPending = Gauge(label: "etcd_server_proposals_pending")
    let proposalsFailed = Counter(label: "etcd_server_proposals_failed_total")
    let hasLeader = Gauge(label: "etcd_server_has_leader")
    let isLeader = Gauge(label: "etcd_server_is_leader")
    let leaderChanges = Counter(label: "etcd_server_leader_changes_seen_total")

    let dbTotalSize = Gauge(label: "etcd_mvcc_db_total_size_in_bytes")
    let dbSizeInUse = Gauge(label: "etcd_mvcc_db_total_size_in_use_in_bytes")
    let keys = Gauge(label: "etcd_debugging_mvcc_keys_total")
    let watchers = Gauge(label: "etcd_debugging_mvcc_watcher_total")
    let puts = Counter(label: "etcd_mvcc_put_total")
    let deletes = Counter(label: "etcd_mvcc_delete_total")
    let ranges = Counter(label: "etcd_mvcc_range_total")
    let txns = Counter(label: "etcd_mvcc_txn_total")

    let leasesGranted = Counter(label: "etcd_debugging_lease_granted_total")
    let leasesRevoked = Counter(label: "etcd_debugging_lease_revoked_total")
    let leasesRenewed = Counter(label: "etcd_debugging_lease_renewed_total")

    let isLearner = Gauge(label: "etcd_server_is_learner")
    let process = ProcessMetrics()

    init(serverVersion: String) {
        Gauge(label: "etcd_server_version", dimensions: [("server_version", serverVersion)]).record(1)
    }

    /// etcd's `etcd_server_id`: 1, labelled with this member's ID in hex.
    func recordServerID(_ id: UInt64) {
        Gauge(label: "etcd_server_id", dimensions: [("server_id", String(id, radix: 16))]).record(1)
    }
}
