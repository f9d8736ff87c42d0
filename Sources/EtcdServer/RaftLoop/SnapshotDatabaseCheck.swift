import Foundation
import Raft
import Storage

/// Why a database received with a snapshot was refused.
struct SnapshotRefusal: Error, CustomStringConvertible {
    let description: String
}

/// Checks a database received with a snapshot before Raft hears of the snapshot: it must be
/// a whole swetcd backend of this cluster, list this member and the sender as members, and
/// hold everything up to the snapshot's index (the sender copies its backend when it
/// sends, so it may hold more). Only reads the file.
struct SnapshotDatabaseCheck {
    let clusterID: UInt64
    let localID: UInt64

    func verify(databaseAt path: String, for message: Message) throws {
        guard let index = message.snapshot?.metadata.index else { throw SnapshotRefusal(description: "no snapshot in the message") }
        do {
            try Backend.inspect(databaseAt: path) { reader in
                let stored = try Membership.storedClusterID(reader)
                guard stored == clusterID else {
                    throw SnapshotRefusal(description: "the database belongs to cluster \(stored.map(MemberIdentity.hex) ?? "none"), not \(MemberIdentity.hex(clusterID))")
                }
                let consistentIndex = try EntryApplier.readConsistentIndex(reader)
                guard consistentIndex >= index else {
                    throw SnapshotRefusal(description: "the database's consistent index \(consistentIndex) is below the snapshot index \(index)")
                }
                let membership = Membership(clusterID: clusterID)
                try membership.load(from: reader)
                for id in [localID, message.from] where membership.member(id) == nil || membership.isRemoved(id) {
                    throw SnapshotRefusal(description: "the database's membership does not list member \(MemberIdentity.hex(id))")
                }
            }
        } catch let refusal as SnapshotRefusal {
            throw refusal
        } catch {
            throw SnapshotRefusal(description: "unreadable database: \(error)")
        }
    }
}
