import Foundation
import Raft
import Storage
import Testing
@testable import EtcdServer

/// A database that arrives with a snapshot is read and checked before it may replace the
/// backend; a stranger's, another cluster's, a damaged or an incomplete one is refused.
@Suite struct SnapshotDatabaseCheckTests {
    let check = SnapshotDatabaseCheck(clusterID: 42, localID: 2)

    /// A backend file of cluster `cluster` with `members`, applied up to `consistentIndex`.
    func database(cluster: UInt64 = 42, members: [UInt64] = [1, 2, 3], consistentIndex: UInt64 = 100) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).db").path
        let backend = try Backend(path: path)
        let membership = Membership(clusterID: cluster)
        try membership.recordClusterID(in: backend.batch)
        for id in members { try membership.add(Member(id: id, peerURLs: ["http://127.0.0.1:\(id)"]), in: backend.batch) }
        try backend.batch.put(.meta, EntryApplier.consistentIndexKey, consistentIndex.bigEndianBytes)
        try backend.close()
        return path
    }

    func snapshot(index: UInt64 = 100, from: UInt64 = 1) -> Message {
        Message(type: .snap, to: 2, from: from, term: 3,
                snapshot: Snapshot(metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: index, term: 3)))
    }

    func refusal(_ path: String, _ message: Message) -> String? {
        do {
            try check.verify(databaseAt: path, for: message)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func theLeadersDatabaseIsAccepted() throws {
        let path = try database(consistentIndex: 120)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(refusal(path, snapshot(index: 100)) == nil, "a database may hold more than the snapshot")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "checking only reads")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
            .filter { $0.hasPrefix((path as NSString).lastPathComponent + "-") }
        #expect(leftovers.isEmpty)
    }

    @Test func anotherClustersDatabaseIsRefused() throws {
        let path = try database(cluster: 7)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(refusal(path, snapshot())?.contains("belongs to cluster 7") == true)
    }

    @Test func aDatabaseWithoutThisMemberOrTheSenderIsRefused() throws {
        let path = try database(members: [1, 3])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(refusal(path, snapshot())?.contains("does not list member 2") == true)
        let other = try database(members: [2, 3])
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(refusal(other, snapshot(from: 1))?.contains("does not list member 1") == true)
    }

    @Test func aDatabaseBehindTheSnapshotIsRefused() throws {
        let path = try database(consistentIndex: 5)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(refusal(path, snapshot(index: 100))?.contains("below the snapshot index 100") == true)
    }

    @Test func truncatedOrForeignFilesAreRefused() throws {
        let path = try database()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path))
        #expect(refusal(path, snapshot()) != nil)
        try Data("not a database at all".utf8).write(to: URL(fileURLWithPath: path))
        #expect(refusal(path, snapshot()) != nil)
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(refusal(path, snapshot()) != nil)
    }
}
