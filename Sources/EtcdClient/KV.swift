import EtcdProto
import Foundation
import GRPCCore

/// Which keys a request addresses.
///
/// A string literal is a single key: `client.kv.get("a")`; the other forms are written
/// `.prefix("app/")`, `.range("a", "c")` (from `a` up to, not including, `c`), `.fromKey("m")`
/// and `.all`.
public enum KeyRange: Sendable, Hashable, ExpressibleByStringLiteral {
    /// Exactly this key.
    case key(EtcdBytes)
    /// Keys in `[from, to)`; `to == "\0"` means "to the end".
    case range(EtcdBytes, EtcdBytes)
    /// Every key that starts with the prefix (every key if it is empty).
    case prefix(EtcdBytes)
    /// Every key greater than or equal to the key.
    case fromKey(EtcdBytes)
    /// Every key.
    case all

    public init(stringLiteral value: String) { self = .key(EtcdBytes(value)) }

    /// The `key` and `range_end` fields of etcd's requests.
    public var bounds: (key: EtcdBytes, rangeEnd: EtcdBytes) {
        let zero = EtcdBytes([0])
        switch self {
        case .key(let key): return (key, .empty)
        case .range(let from, let to): return (from, to)
        case .prefix(let prefix):
            return prefix.isEmpty ? (zero, zero) : (prefix, prefix.prefixRangeEnd)
        case .fromKey(let key): return (key.isEmpty ? zero : key, zero)
        case .all: return (zero, zero)
        }
    }
}

/// Result order of a range read.
public enum SortOrder: Int, Sendable, Hashable {
    case none = 0, ascend, descend
}

/// What a range read sorts by.
public enum SortTarget: Int, Sendable, Hashable {
    case key = 0, version, createRevision, modRevision, value
}

/// Options of ``KV/get(_:options:timeout:)``.
public struct GetOptions: Sendable, Hashable {
    /// At most this many keys (0: no limit); ``GetResponse/more`` tells whether there are more.
    public var limit: Int64 = 0
    /// Read the store as of this revision (0: the latest).
    public var revision: Int64 = 0
    public var sortOrder: SortOrder = .none
    public var sortTarget: SortTarget = .key
    /// Serve from the member's local state without a consensus round (may be stale).
    public var serializable = false
    /// Return keys without values.
    public var keysOnly = false
    /// Return only the count.
    public var countOnly = false
    public var minModRevision: Int64 = 0
    public var maxModRevision: Int64 = 0
    public var minCreateRevision: Int64 = 0
    public var maxCreateRevision: Int64 = 0

    public init(limit: Int64 = 0, revision: Int64 = 0, sortOrder: SortOrder = .none, sortTarget: SortTarget = .key,
                serializable: Bool = false, keysOnly: Bool = false, countOnly: Bool = false,
                minModRevision: Int64 = 0, maxModRevision: Int64 = 0,
                minCreateRevision: Int64 = 0, maxCreateRevision: Int64 = 0) {
        self.limit = limit
        self.revision = revision
        self.sortOrder = sortOrder
        self.sortTarget = sortTarget
        self.serializable = serializable
        self.keysOnly = keysOnly
        self.countOnly = countOnly
        self.minModRevision = minModRevision
        self.maxModRevision = maxModRevision
        self.minCreateRevision = minCreateRevision
        self.maxCreateRevision = maxCreateRevision
    }

    /// The key created first (the owner of a lock or election prefix).
    public static var firstCreated: GetOptions { GetOptions(limit: 1, sortOrder: .ascend, sortTarget: .createRevision) }
    /// The key created last.
    public static var lastCreated: GetOptions { GetOptions(limit: 1, sortOrder: .descend, sortTarget: .createRevision) }
}

/// Options of ``KV/put(_:_:options:timeout:)``.
public struct PutOptions: Sendable, Hashable {
    /// Attach the key to this lease; it is deleted when the lease ends.
    public var lease: LeaseID = .none
    /// Return the previous key-value pair.
    public var prevKV = false
    /// Keep the current value (update only the lease); the key must exist.
    public var ignoreValue = false
    /// Keep the current lease; the key must exist.
    public var ignoreLease = false

    public init(lease: LeaseID = .none, prevKV: Bool = false, ignoreValue: Bool = false, ignoreLease: Bool = false) {
        self.lease = lease
        self.prevKV = prevKV
        self.ignoreValue = ignoreValue
        self.ignoreLease = ignoreLease
    }
}

/// The answer to a range read.
public struct GetResponse: Sendable {
    /// The response as received (the escape hatch for fields this API does not model).
    public var raw: Etcdserverpb_RangeResponse
    public init(raw: Etcdserverpb_RangeResponse) { self.raw = raw }

    public var header: ResponseHeader { raw.header.native }
    /// The keys found, up to the limit.
    public var kvs: [KeyValue] { raw.kvs.map(KeyValue.init) }
    /// Whether the limit cut the result short.
    public var more: Bool { raw.more }
    /// How many keys are in the range (regardless of the limit).
    public var count: Int64 { raw.count }
    /// The first key's value, if any key was found.
    public var value: EtcdBytes? { raw.kvs.first.map { EtcdBytes($0.value) } }
}

public struct PutResponse: Sendable {
    public var raw: Etcdserverpb_PutResponse
    public init(raw: Etcdserverpb_PutResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    /// The pair before this put, when ``PutOptions/prevKV`` was asked for and the key existed.
    public var prevKV: KeyValue? { raw.hasPrevKv ? KeyValue(raw.prevKv) : nil }
}

public struct DeleteResponse: Sendable {
    public var raw: Etcdserverpb_DeleteRangeResponse
    public init(raw: Etcdserverpb_DeleteRangeResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    /// How many keys were deleted.
    public var deleted: Int64 { raw.deleted }
    /// The deleted pairs, when asked for.
    public var prevKVs: [KeyValue] { raw.prevKvs.map(KeyValue.init) }
}

public struct CompactResponse: Sendable {
    public var raw: Etcdserverpb_CompactionResponse
    public var header: ResponseHeader { raw.header.native }
}

/// The key-value service: reads, writes, deletes, transactions and compaction.
///
/// ```swift
/// try await client.kv.put("app/a", "1")
/// let all = try await client.kv.get(.prefix("app/"), options: .init(sortOrder: .ascend))
/// for kv in all.kvs { print(kv.key, kv.value, kv.modRevision) }
/// try await client.kv.delete(.prefix("app/"))
/// ```
public struct KV: Sendable {
    let pool: ConnectionPool

    /// Reads a key or a range. Retried on another endpoint if one fails.
    public func get(_ range: KeyRange, options: GetOptions = GetOptions(), timeout: Duration? = nil)
        async throws -> GetResponse
    {
        let request = Self.rangeRequest(range, options)
        let raw = try await pool.unary(.idempotent, timeout: timeout) { connection, metadata, callOptions in
            try await connection.kv.range(request, metadata: metadata, options: callOptions)
        }
        return GetResponse(raw: raw)
    }

    /// Writes a key.
    @discardableResult
    public func put(_ key: EtcdBytes, _ value: EtcdBytes, options: PutOptions = PutOptions(), timeout: Duration? = nil)
        async throws -> PutResponse
    {
        let request = Self.putRequest(key, value, options)
        try pool.checkSize(request)
        let raw = try await pool.unary(.mutation, timeout: timeout) { connection, metadata, callOptions in
            try await connection.kv.put(request, metadata: metadata, options: callOptions)
        }
        return PutResponse(raw: raw)
    }

    /// Deletes a key or a range.
    @discardableResult
    public func delete(_ range: KeyRange, prevKV: Bool = false, timeout: Duration? = nil) async throws -> DeleteResponse {
        let request = Self.deleteRequest(range, prevKV: prevKV)
        let raw = try await pool.unary(.mutation, timeout: timeout) { connection, metadata, callOptions in
            try await connection.kv.deleteRange(request, metadata: metadata, options: callOptions)
        }
        return DeleteResponse(raw: raw)
    }

    /// Runs a transaction: if every comparison holds, the `then` operations, else the `else`
    /// operations — atomically, at one revision.
    ///
    /// ```swift
    /// let swapped = try await client.kv.txn(
    ///     if: [.value("leader", .equal, "me")],
    ///     then: [.put("leader", "you")],
    ///     else: [.get("leader")]
    /// ).succeeded
    /// ```
    public func txn(if compares: [Compare], then success: [TxnOp], else failure: [TxnOp] = [],
                    timeout: Duration? = nil) async throws -> TxnResponse
    {
        let request = TxnOp.txnRequest(compares, success, failure)
        try pool.checkSize(request)
        let readOnly = (success + failure).allSatisfy(\.isReadOnly)
        let raw = try await pool.unary(readOnly ? .idempotent : .mutation, timeout: timeout) {
            connection, metadata, callOptions in
            try await connection.kv.txn(request, metadata: metadata, options: callOptions)
        }
        return TxnResponse(raw: raw)
    }

    /// Runs a transaction given as etcd's request message (the escape hatch for callers that
    /// build requests themselves).
    public func txn(raw request: Etcdserverpb_TxnRequest, timeout: Duration? = nil) async throws -> TxnResponse {
        try pool.checkSize(request)
        let raw = try await pool.unary(.mutation, timeout: timeout) { connection, metadata, callOptions in
            try await connection.kv.txn(request, metadata: metadata, options: callOptions)
        }
        return TxnResponse(raw: raw)
    }

    /// Discards the history before `revision`; reads and watches of older revisions fail with
    /// ``EtcdError/Kind/compacted``. `physical` waits until the space is freed.
    @discardableResult
    public func compact(_ revision: Int64, physical: Bool = false, timeout: Duration? = nil) async throws
        -> CompactResponse
    {
        var request = Etcdserverpb_CompactionRequest()
        request.revision = revision
        request.physical = physical
        let raw = try await pool.unary(.mutation, timeout: timeout) { connection, metadata, callOptions in
            try await connection.kv.compact(request, metadata: metadata, options: callOptions)
        }
        return CompactResponse(raw: raw)
    }

    // MARK: - Request builders

    static func rangeRequest(_ range: KeyRange, _ options: GetOptions) -> Etcdserverpb_RangeRequest {
        var request = Etcdserverpb_RangeRequest()
        let (key, end) = range.bounds
        request.key = key.data
        request.rangeEnd = end.data
        request.limit = options.limit
        request.revision = options.revision
        request.sortOrder = Etcdserverpb_RangeRequest.SortOrder(rawValue: options.sortOrder.rawValue) ?? .none
        request.sortTarget = Etcdserverpb_RangeRequest.SortTarget(rawValue: options.sortTarget.rawValue) ?? .key
        request.serializable = options.serializable
        request.keysOnly = options.keysOnly
        request.countOnly = options.countOnly
        request.minModRevision = options.minModRevision
        request.maxModRevision = options.maxModRevision
        request.minCreateRevision = options.minCreateRevision
        request.maxCreateRevision = options.maxCreateRevision
        return request
    }

    static func putRequest(_ key: EtcdBytes, _ value: EtcdBytes, _ options: PutOptions) -> Etcdserverpb_PutRequest {
        var request = Etcdserverpb_PutRequest()
        request.key = key.data
        request.value = value.data
        request.lease = options.lease.rawValue
        request.prevKv = options.prevKV
        request.ignoreValue = options.ignoreValue
        request.ignoreLease = options.ignoreLease
        return request
    }

    static func deleteRequest(_ range: KeyRange, prevKV: Bool) -> Etcdserverpb_DeleteRangeRequest {
        var request = Etcdserverpb_DeleteRangeRequest()
        let (key, end) = range.bounds
        request.key = key.data
        request.rangeEnd = end.data
        request.prevKv = prevKV
        return request
    }
}
