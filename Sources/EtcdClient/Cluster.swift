import EtcdProto
import Foundation

/// A member of the cluster.
public struct Member: Sendable, Hashable {
    public var id: UInt64
    /// Empty while the member has not started yet.
    public var name: String
    public var peerURLs: [String]
    public var clientURLs: [String]
    public var isLearner: Bool

    public init(_ raw: Etcdserverpb_Member) {
        id = raw.id
        name = raw.name
        peerURLs = raw.peerUrls
        clientURLs = raw.clientUrls
        isLearner = raw.isLearner
    }

    /// The ID as etcdctl shows it (hexadecimal).
    public var hexID: String { String(id, radix: 16) }
}

public struct MemberListResponse: Sendable {
    public var raw: Etcdserverpb_MemberListResponse
    public init(raw: Etcdserverpb_MemberListResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    public var members: [Member] { raw.members.map(Member.init) }
}

public struct MemberAddResponse: Sendable {
    public var raw: Etcdserverpb_MemberAddResponse
    public init(raw: Etcdserverpb_MemberAddResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    /// The new member.
    public var member: Member { Member(raw.member) }
    /// Every member after the change.
    public var members: [Member] { raw.members.map(Member.init) }
}

/// The answer to member remove, update and promote: the members after the change.
public struct MemberChangeResponse: Sendable {
    public var header: ResponseHeader
    public var members: [Member]
    /// The encoded response as received.
    public var rawBytes: Data
}

/// The cluster membership service.
///
/// ```swift
/// for member in try await client.cluster.memberList().members {
///     print(member.hexID, member.name, member.clientURLs)
/// }
/// let added = try await client.cluster.memberAdd(peerURLs: ["http://10.0.0.4:2380"], isLearner: true)
/// try await client.cluster.memberPromote(added.member.id)
/// ```
public struct Cluster: Sendable {
    let pool: ConnectionPool

    public func memberList(timeout: Duration? = nil) async throws -> MemberListResponse {
        let raw = try await pool.unary(.idempotent, timeout: timeout) { connection, metadata, options in
            try await connection.cluster.memberList(Etcdserverpb_MemberListRequest(), metadata: metadata, options: options)
        }
        return MemberListResponse(raw: raw)
    }

    public func memberAdd(peerURLs: [String], isLearner: Bool = false, timeout: Duration? = nil) async throws
        -> MemberAddResponse
    {
        var request = Etcdserverpb_MemberAddRequest()
        request.peerUrls = peerURLs
        request.isLearner = isLearner
        let raw = try await pool.unary(.mutation, timeout: timeout) { connection, metadata, options in
            try await connection.cluster.memberAdd(request, metadata: metadata, options: options)
        }
        return MemberAddResponse(raw: raw)
    }

    @discardableResult
    public func memberRemove(_ id: UInt64, timeout: Duration? = nil) async throws -> MemberChangeResponse {
        var request = Etcdserverpb_MemberRemoveRequest()
        request.id = id
        let raw = try await pool.unary(.mutation, timeout: timeout) { connection, metadata, options in
            try await connection.cluster.memberRemove(request, metadata: metadata, options: options)
        }
        return MemberChangeResponse(header: raw.header.native, members: raw.members.map(Member.init),
                                    rawBytes: try raw.serializedBytes())
    }

    @discardableResult
    public func memberUpdate(_ id: UInt64, peerURLs: [String], timeout: Duration? = nil) async throws
        -> MemberChangeResponse
    {
        var request = Etcdserverpb_MemberUpdateRequest()
        request.id = id
        request.peerUrls = peerURLs
        let raw = try await pool.unary(.mutation, timeout: timeout) { connection, metadata, options in
            try await connection.cluster.memberUpdate(request, metadata: metadata, options: options)
        }
        return MemberChangeResponse(header: raw.header.native, members: raw.members.map(Member.init),
                                    rawBytes: try raw.serializedBytes())
    }

    /// Promotes a learner to a voting member.
    @discardableResult
    public func memberPromote(_ id: UInt64, timeout: Duration? = nil) async throws -> MemberChangeResponse {
        var request = Etcdserverpb_MemberPromoteRequest()
        request.id = id
        let raw = try await pool.unary(.mutation, timeout: timeout) { connection, metadata, options in
            try await connection.cluster.memberPromote(request, metadata: metadata, options: options)
        }
        return MemberChangeResponse(header: raw.header.native, members: raw.members.map(Member.init),
                                    rawBytes: try raw.serializedBytes())
    }
}
