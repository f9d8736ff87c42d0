@testable import Raft

/// One simulated server: durable storage that survives crashes, a Raft node that does not, and
/// a tiny replicated state machine (a rolling hash of everything applied, plus the ids removed
/// from the cluster, which the "server" uses to validate membership changes as etcd does).
final class SimNode {
    let id: UInt64
    let storage = MemoryStorage()
    var node: RawNode?
    var incarnation: UInt64 = 0
    /// Permanently shut down after being removed from the cluster.
    var removed = false
    var downSince = 0

    // State machine (volatile; rebuilt from the snapshot and the log on restart).
    var applied: UInt64 = 0
    var hash: UInt64 = 0
    var confState = ConfState()
    var removedPeers: Set<UInt64> = []

    init(id: UInt64) {
        self.id = id
    }

    var isLive: Bool { node != nil }

    /// Encodes the state machine for a snapshot.
    func snapshotData() -> [UInt8] {
        var w = ByteWriter(capacity: 32)
        w.varint(applied)
        w.varint(hash)
        w.ids(removedPeers.sorted())
        return w.bytes
    }

    /// Resets the state machine to the content of a snapshot (or to empty).
    func restoreStateMachine(from snap: Snapshot) {
        applied = snap.metadata.index
        confState = snap.metadata.confState
        if snap.isEmpty {
            hash = 0
            removedPeers = []
            return
        }
        var r = ByteReader(snap.data[...])
        do {
            let idx = try r.varint()
            precondition(idx == snap.metadata.index, "snapshot data index \(idx) != metadata \(snap.metadata.index)")
            hash = try r.varint()
            removedPeers = Set(try r.ids())
        } catch {
            preconditionFailure("corrupt snapshot data: \(error)")
        }
    }

    var isMemberOfOwnConfig: Bool {
        confState.voters.contains(id) || confState.learners.contains(id) || confState.votersOutgoing.contains(id)
    }
}

/// FNV-1a over an entry's payload and type: a compact identity for comparing entries.
func entryDigest(_ e: Entry) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    h = (h ^ UInt64(e.type.rawValue)) &* 0x100_0000_01b3
    for b in e.data { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

/// The state hash after applying an entry on top of `prev`.
func rollHash(_ prev: UInt64, index: UInt64, term: UInt64, digest: UInt64) -> UInt64 {
    var z = prev &+ index &* 0x9E37_79B9_7F4A_7C15 &+ term &* 0xBF58_476D_1CE4_E5B9 &+ digest
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
