import EtcdConfiguration
import Foundation
import Logging
import Raft
import WAL

/// Peer messages and snapshots on the Raft loop: what Raft refuses is logged and dropped;
/// snapshots go out with a copy of the backend and come in only with a verified database;
/// the member takes one every `--snapshot-count` entries and purges old files.
extension RaftNode {
    func send(_ messages: [Message]) {
        var plain: [Message] = []
        plain.reserveCapacity(messages.count)
        for message in messages {
            if message.type == .snap {
                sendSnapshot(message)
            } else {
                plain.append(message)
            }
        }
        transport.send(plain)
    }

    /// Sends a snapshot with a consistent copy of the backend (taken now, so it holds at
    /// least everything up to the snapshot's index; the follower skips what it already has).
    func sendSnapshot(_ message: Message) {
        let backend = applier.backend
        let transport = self.transport
        let logger = self.logger
        let inbox = self.inbox
        let directory = snapshotter.directory
        Task.detached {
            let path = directory + "/outgoing-\(UUID().uuidString).db"
            do {
                try backend.copy(to: path)
                logger.info(
                    "sending database snapshot",
                    metadata: ["remote-peer-id": "\(hex(message.to))", "snapshot-index": "\(message.snapshot?.metadata.index ?? 0)"])
                await transport.sendSnapshot(message, databasePath: path)
            } catch {
                logger.warning("failed to copy the backend for a snapshot", metadata: ["error": "\(error)"])
                inbox.add(.snapshotStatus(message.to, succeeded: false))
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// Replaces the state machine with the database that came with `snapshot`.
    func installSnapshot(_ snapshot: Snapshot) throws {
        let index = snapshot.metadata.index
        guard let path = receivedDatabases.removeValue(forKey: index) else {
            throw ConfigError("Raft installed snapshot \(index) but no database arrived with it")
        }
        for (stale, file) in receivedDatabases where stale < index {
            try? FileManager.default.removeItem(atPath: file)
            receivedDatabases.removeValue(forKey: stale)
        }
        try applier.restore(fromDatabase: path)
        snapshotIndex = index
        confState = snapshot.metadata.confState
        logger.info(
            "applied incoming snapshot",
            metadata: ["snapshot-index": "\(index)", "consistent-index": "\(applier.appliedIndex)"])
    }

    /// Steps a peer's message; one Raft refuses is logged and dropped.
    func step(_ message: Message) {
        do {
            // Snapshots come only with their database (`stepSnapshot`); the transport refuses
            // them on the Raft stream already.
            guard message.type != .snap else { return dropped(message, reason: "snapshot without its database") }
            try node.step(message)
        } catch .messageDropped(let reason) {
            dropped(message, reason: "\(reason)")
        } catch {
            // Responses from members no longer in the configuration: nothing to do.
        }
    }

    func dropped(_ message: Message, reason: String) {
        logger.warning(
            "dropped a Raft message from a peer",
            metadata: ["from": "\(hex(message.from))", "type": "\(message.type)", "term": "\(message.term)", "reason": "\(reason)"])
    }

    /// Steps a snapshot that arrived with its database at `path`: nil when Raft takes it
    /// (the database is installed with it), else why not.
    func stepSnapshot(_ message: Message, databasePath path: String) -> String? {
        guard let index = message.snapshot?.metadata.index else { return "no snapshot in the message" }
        do {
            guard try node.stepSnapshot(message) else { return "Raft did not need snapshot \(index)" }
        } catch .messageDropped(let reason) {
            return "\(reason)"
        } catch {
            return "\(error)"
        }
        if let earlier = receivedDatabases.updateValue(path, forKey: index), earlier != path {
            try? FileManager.default.removeItem(atPath: earlier)
        }
        return nil
    }

    /// Raft sends followers the stored snapshot, and a follower ignores one whose
    /// configuration does not list it: after a membership change, the in-memory snapshot is
    /// refreshed at the applied index (cheap: its data is the backend, copied when sent).
    func refreshSnapshotConfiguration() {
        guard configurationChanged else { return }
        configurationChanged = false
        let applied = applier.appliedIndex
        guard applied > storage.latestSnapshot.metadata.index, applied <= storage.lastIndex() else { return }
        _ = try? storage.createSnapshot(at: applied, confState: confState, data: [])
    }

    /// Takes a snapshot once enough entries were applied since the last one, then compacts
    /// the in-memory log and purges old WAL segments and snapshot files.
    func maybeSnapshot() {
        let applied = applier.appliedIndex
        guard applied > snapshotIndex, applied - snapshotIndex >= settings.snapshotCount else { return }
        do {
            let snapshot = try storage.createSnapshot(at: applied, confState: confState, data: [])
            try snapshotter.save(snapshot)
            try wal.saveSnapshot(SnapshotMarker(snapshot.metadata))
            snapshotIndex = applied
            if applied > settings.catchUpEntries {
                try? storage.compact(applied - settings.catchUpEntries)
            }
            snapshotter.purge(keep: settings.maxSnapshots)
            // WAL segments go only when every snapshot still kept can open the log without them.
            if let oldest = snapshotter.oldestSnapshotIndex(), (try? wal.segmentFiles().count) ?? 0 > settings.maxWALs {
                _ = try? wal.removeSegments(coveredBy: oldest)
            }
            logger.info("saved snapshot", metadata: ["snapshot-index": "\(applied)"])
        } catch {
            logger.error("failed to save snapshot", metadata: ["error": "\(error)"])
        }
    }
}
