import EtcdProto
import Foundation

/// JSON of etcd's messages as etcdctl prints them: Go's `encoding/json` over the gogo-protobuf
/// structs (field names from their tags, `omitempty` everywhere, bytes in base64, enums as
/// numbers, uint64 as plain numbers), plus the client library's own structs.
struct GoJSONObject {
    private var fields: [String] = []

    /// Adds `"name":value` (the value already JSON).
    mutating func raw(_ name: String, _ json: String) { fields.append("\"\(name)\":\(json)") }

    mutating func int<T: BinaryInteger>(_ name: String, _ value: T, omitEmpty: Bool = true) {
        if omitEmpty && value == 0 { return }
        raw(name, String(value))
    }
    mutating func bool(_ name: String, _ value: Bool, omitEmpty: Bool = true) {
        if omitEmpty && !value { return }
        raw(name, value ? "true" : "false")
    }
    mutating func string(_ name: String, _ value: String, omitEmpty: Bool = true) {
        if omitEmpty && value.isEmpty { return }
        raw(name, GoFormat.jsonString(value))
    }
    mutating func bytes(_ name: String, _ value: Data, omitEmpty: Bool = true) {
        if omitEmpty && value.isEmpty { return }
        raw(name, GoFormat.jsonBytes(value))
    }
    mutating func strings(_ name: String, _ values: [String]) {
        if values.isEmpty { return }
        raw(name, "[" + values.map(GoFormat.jsonString).joined(separator: ",") + "]")
    }
    mutating func array(_ name: String, _ items: [String], omitEmpty: Bool = true, nullIfEmpty: Bool = false) {
        if items.isEmpty {
            if omitEmpty { return }
            raw(name, nullIfEmpty ? "null" : "[]")
            return
        }
        raw(name, "[" + items.joined(separator: ",") + "]")
    }
    /// Appends the fields of another object (Go's embedded structs).
    mutating func inline(_ other: GoJSONObject) { fields += other.fields }

    var json: String { "{" + fields.joined(separator: ",") + "}" }
}

enum GoJSON {
    static func header(_ h: Etcdserverpb_ResponseHeader) -> GoJSONObject {
        var o = GoJSONObject()
        o.int("cluster_id", h.clusterID)
        o.int("member_id", h.memberID)
        o.int("revision", h.revision)
        o.int("raft_term", h.raftTerm)
        return o
    }

    static func headerField(_ o: inout GoJSONObject, _ has: Bool, _ h: Etcdserverpb_ResponseHeader) {
        if has { o.raw("header", header(h).json) }
    }

    static func keyValue(_ kv: Mvccpb_KeyValue) -> String {
        var o = GoJSONObject()
        o.bytes("key", kv.key)
        o.int("create_revision", kv.createRevision)
        o.int("mod_revision", kv.modRevision)
        o.int("version", kv.version)
        o.bytes("value", kv.value)
        o.int("lease", kv.lease)
        return o.json
    }

    static func range(_ r: Etcdserverpb_RangeResponse) -> String {
        var o = GoJSONObject()
        headerField(&o, r.hasHeader, r.header)
        o.array("kvs", r.kvs.map(keyValue))
        o.bool("more", r.more)
        o.int("count", r.count)
        return o.json
    }

    static func put(_ r: Etcdserverpb_PutResponse) -> String {
        var o = GoJSONObject()
        headerField(&o, r.hasHeader, r.header)
        if r.hasPrevKv { o.raw("prev_kv", keyValue(r.prevKv)) }
        return o.json
    }

    static func delete(_ r: Etcdserverpb_DeleteRangeResponse) -> String {
        var o = GoJSONObject()
        headerField(&o, r.hasHeader, r.header)
        o.int("deleted", r.deleted)
        o.array("prev_kvs", r.prevKvs.map(keyValue))
        return o.json
    }

    static func txn(_ r: Etcdserverpb_TxnResponse) -> String {
        var o = GoJSONObject()
        headerField(&o, r.hasHeader, r.header)
        o.bool("succeeded", r.succeeded)
        o.array("responses", r.responses.map(responseOp))
        return o.json
    }

    /// A txn result: gogo's oneof wrapper has no JSON tags, hence the Go field names.
    static func responseOp(_ op: Etcdserverpb_ResponseOp) -> String {
        var inner = GoJSONObject()
        switch op.response {
        case .responseRange(let r): inner.raw("ResponseRange", range(r))
        case .responsePut(let r): inner.raw("ResponsePut", put(r))
        case .responseDeleteRange(let r): inner.raw("ResponseDeleteRange", delete(r))
        case .responseTxn(let r): inner.raw("ResponseTxn", txn(r))
        case nil: return "{}"
        }
        var o = GoJSONObject()
        o.raw("Response", inner.json)
        return o.json
    }

    static func event(_ e: Mvccpb_Event) -> String {
        var o = GoJSONObject()
        o.int("type", e.type.rawValue)
        if e.hasKv { o.raw("kv", keyValue(e.kv)) }
        if e.hasPrevKv { o.raw("prev_kv", keyValue(e.prevKv)) }
        return o.json
    }

    /// clientv3's WatchResponse (no JSON tags: Go field names, no omitempty).
    static func watch(_ r: Etcdserverpb_WatchResponse) -> String {
        var o = GoJSONObject()
        o.raw("Header", header(r.header).json)
        o.array("Events", r.events.map(event), omitEmpty: false)
        o.int("CompactRevision", r.compactRevision, omitEmpty: false)
        o.bool("Canceled", r.canceled, omitEmpty: false)
        o.bool("Created", r.created, omitEmpty: false)
        return o.json
    }

    /// clientv3's lease structs embed the header pointer: its fields come first, inline.
    static func embeddedHeader(_ has: Bool, _ h: Etcdserverpb_ResponseHeader) -> GoJSONObject {
        has ? header(h) : GoJSONObject()
    }

    static func leaseGrant(_ r: Etcdserverpb_LeaseGrantResponse) -> String {
        var o = embeddedHeader(r.hasHeader, r.header)
        o.int("ID", r.id, omitEmpty: false)
        o.int("TTL", r.ttl, omitEmpty: false)
        o.string("Error", r.error, omitEmpty: false)
        return o.json
    }

    static func leaseRevoke(_ r: Etcdserverpb_LeaseRevokeResponse) -> String {
        var o = GoJSONObject()
        headerField(&o, r.hasHeader, r.header)
        return o.json
    }

    static func leaseKeepAlive(_ r: Etcdserverpb_LeaseKeepAliveResponse) -> String {
        var o = embeddedHeader(r.hasHeader, r.header)
        o.int("ID", r.id, omitEmpty: false)
        o.int("TTL", r.ttl, omitEmpty: false)
        return o.json
    }

    static func leaseTimeToLive(_ r: Etcdserverpb_LeaseTimeToLiveResponse) -> String {
        var o = embeddedHeader(r.hasHeader, r.header)
        o.int("id", r.id, omitEmpty: false)
        o.int("ttl", r.ttl, omitEmpty: false)
        o.int("granted-ttl", r.grantedTtl, omitEmpty: false)
        o.array("keys", r.keys.map(GoFormat.jsonBytes), omitEmpty: false, nullIfEmpty: true)
        return o.json
    }

    static func leaseLeases(_ r: Etcdserverpb_LeaseLeasesResponse) -> String {
        var o = embeddedHeader(r.hasHeader, r.header)
        o.array("leases", r.leases.map { "{\"id\":\($0.id)}" }, omitEmpty: false)
        return o.json
    }

    static func member(_ m: Etcdserverpb_Member) -> String {
        var o = GoJSONObject()
        o.int("ID", m.id)
        o.string("name", m.name)
        o.strings("peerURLs", m.peerUrls)
        o.strings("clientURLs", m.clientUrls)
        o.bool("isLearner", m.isLearner)
        return o.json
    }

    static func members(hasHeader: Bool, _ h: Etcdserverpb_ResponseHeader, member added: Etcdserverpb_Member? = nil,
                        _ list: [Etcdserverpb_Member]) -> String {
        var o = GoJSONObject()
        headerField(&o, hasHeader, h)
        if let added { o.raw("member", member(added)) }
        o.array("members", list.map(member))
        return o.json
    }

    static func status(_ r: Etcdserverpb_StatusResponse) -> String {
        var o = GoJSONObject()
        headerField(&o, r.hasHeader, r.header)
        o.string("version", r.version)
        o.int("dbSize", r.dbSize)
        o.int("leader", r.leader)
        o.int("raftIndex", r.raftIndex)
        o.int("raftTerm", r.raftTerm)
        o.int("raftAppliedIndex", r.raftAppliedIndex)
        o.strings("errors", r.errors)
        o.int("dbSizeInUse", r.dbSizeInUse)
        o.bool("isLearner", r.isLearner)
        return o.json
    }

    static func hashKV(_ r: Etcdserverpb_HashKVResponse) -> String {
        var o = GoJSONObject()
        headerField(&o, r.hasHeader, r.header)
        o.int("hash", r.hash)
        o.int("compact_revision", r.compactRevision)
        return o.json
    }

    static func alarm(_ r: Etcdserverpb_AlarmResponse) -> String {
        var o = GoJSONObject()
        headerField(&o, r.hasHeader, r.header)
        o.array("alarms", r.alarms.map { a in
            var m = GoJSONObject()
            m.int("memberID", a.memberID)
            m.int("alarm", a.alarm.rawValue)
            return m.json
        })
        return o.json
    }

    static func headerOnly(_ h: ResponseHeaderView) -> String {
        var o = GoJSONObject()
        if let value = h.header { o.raw("header", Self.header(value).json) }
        return o.json
    }

    static func permission(_ p: Authpb_Permission) -> String {
        var o = GoJSONObject()
        o.int("permType", p.permType.rawValue)
        o.bytes("key", p.key)
        o.bytes("range_end", p.rangeEnd)
        return o.json
    }
}

/// A response header that may be absent.
struct ResponseHeaderView {
    var header: Etcdserverpb_ResponseHeader?
}
