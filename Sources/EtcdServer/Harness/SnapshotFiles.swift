import Raft

/// The member's snapshot files (`Snapshotter`), for the fuzz target that feeds the reader
/// damaged files (Tests/Fuzz).
package enum SnapshotFiles {
    /// The newest readable snapshot in `directory`, read as a restarting member reads it.
    package static func loadNewest(in directory: String) throws -> Snapshot? {
        try Snapshotter(directory: directory).loadNewest()
    }

    /// Writes `snapshot` to `directory` as a member does.
    package static func save(_ snapshot: Snapshot, in directory: String) throws {
        try Snapshotter(directory: directory).save(snapshot)
    }
}
