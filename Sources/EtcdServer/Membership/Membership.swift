import EtcdProto
import Foundation
import Storage
import Synchronization

/// One member of the cluster as the cluster knows it.
public struct Member: Sendable, Equatable {
    /// The member's ID.
    public var id: UInt64
    /// Empty until the member has started and published itself.
    public var name: String
    /// The URLs other members reach it at.
    public var peerURLs: [String]
    /// The URLs it serves clients at (empty until it published itself).
    public var clientURLs: [String]
    /// Whether it is a learner (a non-voting member).
    public var isLearner: Bool

    /// A member as it is recorded.
    public init(id: UInt64, name: String = "", peerURLs: [String], clientURLs: [String] = [], isLearner: Bool = false) {
        self.id = id
        self.name = name
        self.peerURLs = peerURLs
        self.clientURLs = clientURLs
        self.isLearner = isLearner
    }
}

/// The cluster's membership and version (etcd's RaftCluster): changed only by applying log
/// entries, persisted in the backend in the same batch, read by anyone.
public final class Membership: Sendable {
    /// The cluster's ID.
    public let clusterID: UInt64
    private struct State {
        var members: [UInt64: Member] = [:]
        var removed: Set<UInt64> = []
        var version: String?
    }
    private let state = Mutex(State())
    private static let versionKey = Array("clusterVersion".utf8)

    init(clusterID: UInt64) {
        self.clusterID = clusterID
    }

    /// Loads what earlier runs applied.
    func load(from reader: BackendReader) throws {
        var members: [UInt64: Member] = [:]
        try reader.forEach(.members, from: [], to: nil) { _, value in
            let stored = try Swetcdpb_StoredMember(serializedBytes: Array(value))
            members[stored.id] = Member(stored)
            return true
        }
        var removed: Set<UInt64> = []
        try reader.forEach(.membersRemoved, from: [], to: nil) { key, _ in
            if let id = UInt64(String(decoding: key, as: UTF8.self), radix: 16) { removed.insert(id) }
            return true
        }
        let version = try reader.get(.cluster, Self.versionKey).map { String(decoding: $0, as: UTF8.self) }
        state.withLock {
            $0.members = members
            $0.removed = removed
            $0.version = version
        }
    }

    /// Members ordered by ID, as etcd lists them.
    public var members: [Member] {
        state.withLock { $0.members.values.sorted { $0.id < $1.id } }
    }

    /// The member with this ID, if it is one.
    public func member(_ id: UInt64) -> Member? {
        state.withLock { $0.members[id] }
    }

    /// Whether `id` was removed from the cluster (it may never rejoin).
    public func isRemoved(_ id: UInt64) -> Bool { state.withLock { $0.removed.contains(id) } }

    /// IDs of removed members.
    public var removedIDs: [UInt64] { state.withLock { $0.removed.sorted() } }

    /// The agreed cluster version, nil before the first member decided it.
    public var version: String? { state.withLock { $0.version } }

    func add(_ member: Member, in batch: BatchTransaction) throws {
        try persist(member, in: batch)
        state.withLock { $0.members[member.id] = member }
    }

    func remove(_ id: UInt64, in batch: BatchTransaction) throws {
        try batch.delete(.members, Array(MemberIdentity.hex(id).utf8))
        try batch.put(.membersRemoved, Array(MemberIdentity.hex(id).utf8), Array("removed".utf8))
        state.withLock {
            $0.members.removeValue(forKey: id)
            $0.removed.insert(id)
        }
    }

    /// Records a member's new peer URLs; false when the member is unknown.
    func setPeerURLs(of id: UInt64, _ urls: [String], in batch: BatchTransaction) throws -> Bool {
        guard var member = self.member(id) else { return false }
        member.peerURLs = urls
        try persist(member, in: batch)
        state.withLock { $0.members[id] = member }
        return true
    }

    /// Makes a learner a voting member; false when the member is unknown.
    func promote(_ id: UInt64, in batch: BatchTransaction) throws -> Bool {
        guard var member = self.member(id) else { return false }
        member.isLearner = false
        try persist(member, in: batch)
        state.withLock { $0.members[id] = member }
        return true
    }

    /// Records a member's name and client URLs; false when the member is unknown.
    func setAttributes(of id: UInt64, name: String, clientURLs: [String], in batch: BatchTransaction) throws -> Bool {
        guard var member = self.member(id) else { return false }
        member.name = name
        member.clientURLs = clientURLs
        try persist(member, in: batch)
        state.withLock { $0.members[id] = member }
        return true
    }

    func setVersion(_ version: String, in batch: BatchTransaction) throws {
        try batch.put(.cluster, Self.versionKey, Array(version.utf8))
        state.withLock { $0.version = version }
    }

    private func persist(_ member: Member, in batch: BatchTransaction) throws {
        try batch.put(.members, Array(MemberIdentity.hex(member.id).utf8), try member.stored.serializedBytes())
    }
}
