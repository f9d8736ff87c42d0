import EtcdProto
import Foundation
import GRPCCore

public struct StatusResponse: Sendable {
    public var raw: Etcdserverpb_StatusResponse
    public init(raw: Etcdserverpb_StatusResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    /// The member's server version.
    public var version: String { raw.version }
    public var dbSize: Int64 { raw.dbSize }
    public var dbSizeInUse: Int64 { raw.dbSizeInUse }
    /// The member ID of the leader as this member knows it (0: none).
    public var leader: UInt64 { raw.leader }
    public var raftIndex: UInt64 { raw.raftIndex }
    public var raftTerm: UInt64 { raw.raftTerm }
    public var raftAppliedIndex: UInt64 { raw.raftAppliedIndex }
    public var errors: [String] { raw.errors }
    public var isLearner: Bool { raw.isLearner }
    /// Whether the member that answered is the leader.
    public var isLeader: Bool { raw.leader != 0 && raw.leader == raw.header.memberID }
}

public struct HashKVResponse: Sendable {
    public var raw: Etcdserverpb_HashKVResponse
    public init(raw: Etcdserverpb_HashKVResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    /// The CRC-32C of the key-value history up to the revision (equal on healthy members).
    public var hash: UInt32 { raw.hash }
    public var compactRevision: Int64 { raw.compactRevision }
}

/// An alarm raised on a member.
public struct Alarm: Sendable, Hashable {
    public enum AlarmType: Int, Sendable, Hashable, CustomStringConvertible {
        case none = 0, noSpace, corrupt
        /// `NONE`, `NOSPACE`, `CORRUPT`, as etcd names them.
        public var description: String {
            switch self {
            case .none: "NONE"
            case .noSpace: "NOSPACE"
            case .corrupt: "CORRUPT"
            }
        }
    }
    public var memberID: UInt64
    public var type: AlarmType
}

public struct AlarmResponse: Sendable {
    public var raw: Etcdserverpb_AlarmResponse
    public init(raw: Etcdserverpb_AlarmResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    public var alarms: [Alarm] {
        raw.alarms.map { Alarm(memberID: $0.memberID, type: Alarm.AlarmType(rawValue: $0.alarm.rawValue) ?? .none) }
    }
}

public struct DefragmentResponse: Sendable {
    public var raw: Etcdserverpb_DefragmentResponse
    public var header: ResponseHeader { raw.header.native }
}

public struct MoveLeaderResponse: Sendable {
    public var raw: Etcdserverpb_MoveLeaderResponse
    public var header: ResponseHeader { raw.header.native }
}

/// The maintenance service: member status, consistency hashes, alarms, defragmentation,
/// snapshots and leadership transfer. Most calls address one member (`endpoint`), by default
/// the one the client currently talks to.
///
/// ```swift
/// for endpoint in client.endpoints {
///     let status = try await client.maintenance.status(endpoint: endpoint)
///     print(endpoint, status.version, status.isLeader, status.raftIndex)
/// }
/// try await client.maintenance.saveSnapshot(to: "/backups/etcd.db")
/// ```
public struct Maintenance: Sendable {
    let pool: ConnectionPool

    private func pinned(_ endpoint: String?) throws -> Endpoint? {
        try endpoint.map(Endpoint.parse)
    }

    public func status(endpoint: String? = nil, timeout: Duration? = nil) async throws -> StatusResponse {
        let raw = try await pool.unary(.idempotent, timeout: timeout, endpoint: try pinned(endpoint)) {
            connection, metadata, options in
            try await connection.maintenance.status(Etcdserverpb_StatusRequest(), metadata: metadata, options: options)
        }
        return StatusResponse(raw: raw)
    }

    /// The hash of the key-value history up to `revision` (0: all of it) on one member.
    public func hashKV(endpoint: String? = nil, revision: Int64 = 0, timeout: Duration? = nil) async throws
        -> HashKVResponse
    {
        var request = Etcdserverpb_HashKVRequest()
        request.revision = revision
        let raw = try await pool.unary(.idempotent, timeout: timeout, endpoint: try pinned(endpoint)) {
            connection, metadata, options in
            try await connection.maintenance.hashKV(request, metadata: metadata, options: options)
        }
        return HashKVResponse(raw: raw)
    }

    /// The hash of the whole backend of one member.
    public func hash(endpoint: String? = nil, timeout: Duration? = nil) async throws -> UInt32 {
        let raw = try await pool.unary(.idempotent, timeout: timeout, endpoint: try pinned(endpoint)) {
            connection, metadata, options in
            try await connection.maintenance.hash(Etcdserverpb_HashRequest(), metadata: metadata, options: options)
        }
        return raw.hash
    }

    public func alarmList(timeout: Duration? = nil) async throws -> AlarmResponse {
        var request = Etcdserverpb_AlarmRequest()
        request.action = .get
        let raw = try await pool.unary(.idempotent, timeout: timeout) { connection, metadata, options in
            try await connection.maintenance.alarm(request, metadata: metadata, options: options)
        }
        return AlarmResponse(raw: raw)
    }

    /// Clears alarms. With the defaults (member 0, type none) every alarm is disarmed, as
    /// `etcdctl alarm disarm` does.
    @discardableResult
    public func alarmDisarm(memberID: UInt64 = 0, type: Alarm.AlarmType = .none, timeout: Duration? = nil)
        async throws -> AlarmResponse
    {
        if memberID == 0 && type == .none {
            // etcd disarms one alarm per request: clear each one listed. Like etcd's client,
            // the answer then has no header, only the alarms the disarms returned.
            let listed = try await alarmList(timeout: timeout)
            var combined = Etcdserverpb_AlarmResponse()
            for alarm in listed.alarms {
                combined.alarms += try await disarm(alarm.memberID, alarm.type, timeout: timeout).raw.alarms
            }
            return AlarmResponse(raw: combined)
        }
        return try await disarm(memberID, type, timeout: timeout)
    }

    private func disarm(_ memberID: UInt64, _ type: Alarm.AlarmType, timeout: Duration?) async throws -> AlarmResponse {
        var request = Etcdserverpb_AlarmRequest()
        request.action = .deactivate
        request.memberID = memberID
        request.alarm = Etcdserverpb_AlarmType(rawValue: type.rawValue) ?? .none
        let raw = try await pool.unary(.mutation, timeout: timeout) { connection, metadata, options in
            try await connection.maintenance.alarm(request, metadata: metadata, options: options)
        }
        return AlarmResponse(raw: raw)
    }

    /// Defragments one member's backend (it stops serving while it runs).
    @discardableResult
    public func defragment(endpoint: String? = nil, timeout: Duration? = nil) async throws -> DefragmentResponse {
        let raw = try await pool.unary(.idempotent, timeout: timeout, endpoint: try pinned(endpoint)) {
            connection, metadata, options in
            try await connection.maintenance.defragment(Etcdserverpb_DefragmentRequest(), metadata: metadata,
                                                        options: options)
        }
        return DefragmentResponse(raw: raw)
    }

    /// Transfers leadership to the member `targetID`. The request must reach the leader: with
    /// no `endpoint`, the client asks each endpoint's status and sends it to the leader.
    @discardableResult
    public func moveLeader(to targetID: UInt64, endpoint: String? = nil, timeout: Duration? = nil) async throws
        -> MoveLeaderResponse
    {
        var leaderEndpoint = endpoint
        if leaderEndpoint == nil {
            for candidate in pool.endpoints.map(\.original) {
                if let status = try? await status(endpoint: candidate, timeout: timeout), status.isLeader {
                    leaderEndpoint = candidate
                    break
                }
            }
        }
        guard let leaderEndpoint else {
            throw EtcdError(kind: .other, code: .failedPrecondition,
                            message: "no leader endpoint given at \(pool.endpoints.map(\.original))")
        }
        var request = Etcdserverpb_MoveLeaderRequest()
        request.targetID = targetID
        let raw = try await pool.unary(.mutation, timeout: timeout, endpoint: try pinned(leaderEndpoint)) {
            connection, metadata, options in
            try await connection.maintenance.moveLeader(request, metadata: metadata, options: options)
        }
        return MoveLeaderResponse(raw: raw)
    }

    /// Streams a snapshot of one member's backend database, chunk by chunk.
    public func snapshot(endpoint: String? = nil) -> AsyncThrowingStream<Data, any Error> {
        let pool = self.pool
        let (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
        let task = Task {
            do {
                let target = try endpoint.map(Endpoint.parse) ?? pool.currentConnection().connection.endpoint
                let connection = try pool.connection(to: target)
                var options = CallOptions.defaults
                options.maxResponseMessageBytes = pool.configuration.maxResponseBytes
                try await connection.maintenance.snapshot(
                    Etcdserverpb_SnapshotRequest(), metadata: pool.metadata(), options: options
                ) { response in
                    for try await chunk in response.messages {
                        continuation.yield(chunk.blob)
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: EtcdError.from(error))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Saves a snapshot of one member's backend to `path` (written to `path.part`, synced,
    /// then renamed). Returns its size in bytes.
    @discardableResult
    public func saveSnapshot(to path: String, endpoint: String? = nil) async throws -> Int {
        let partial = path + ".part"
        _ = FileManager.default.createFile(atPath: partial, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: partial) else {
            throw EtcdError(kind: .other, code: .unknown, message: "could not open \(partial)")
        }
        var size = 0
        do {
            for try await chunk in snapshot(endpoint: endpoint) {
                try handle.write(contentsOf: chunk)
                size += chunk.count
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        return size
    }
}
