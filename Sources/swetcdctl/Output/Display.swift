import EtcdClient
import EtcdProto
import Foundation
import SwiftProtobuf

/// What `endpoint health` reports per endpoint.
struct EndpointHealth {
    var endpoint: String
    var health: Bool
    var took: String
    var error: String
}

/// `snapshot status` of a backend file.
struct SnapshotStatus {
    var hash: UInt32
    var revision: Int64
    var totalKey: Int
    var totalSize: Int64
}

/// etcdctl's printers (`-w simple|json|fields|table|protobuf`), one method per kind of answer.
/// Where etcdctl's printer for a format lacks a method, it exits with `<format> not supported
/// as output format`, and so does this one.
struct Display {
    enum Format: String { case simple, json, fields, table, protobuf }

    var format: Format
    var isHex: Bool
    var valueOnly = false

    init(format: Format, isHex: Bool) {
        self.format = format
        self.isHex = isHex
    }

    func unsupported() -> Never {
        exitWithError(.badFeature, "\(format.rawValue) not supported as output format")
    }

    /// Go's nil pointer panic, which etcdctl's fields printer hits for headerless answers.
    func nilHeaderPanic() -> Never {
        Out.errLine("panic: runtime error: invalid memory address or nil pointer dereference")
        Out.errLine("[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x0]")
        exit(2)
    }

    private func protobuf(_ message: some SwiftProtobuf.Message) {
        Out.bytes((try? message.serializedBytes()) ?? [])
    }

    /// The header alone, serialized: what etcdctl's protobuf printer writes for the client's
    /// lease structs (their embedded header is the only part that can marshal itself).
    private func protobufHeader(_ has: Bool, _ header: Etcdserverpb_ResponseHeader) {
        if has { protobuf(header) }
    }

    // MARK: - Simple and fields building blocks

    func printKV(_ kv: Mvccpb_KeyValue) {
        var key = [UInt8](kv.key)
        var value = [UInt8](kv.value)
        if isHex {
            key = Self.hexEscaped(key)
            value = Self.hexEscaped(value)
        }
        if !valueOnly { Out.bytesLine(key) }
        Out.bytesLine(value)
    }

    /// `\x66\x6f\x6f`.
    static func hexEscaped(_ bytes: [UInt8]) -> [UInt8] {
        bytes.flatMap { Array("\\x".utf8) + GoFormat.hexByte($0) }
    }

    private func fieldsKV(_ prefix: String, _ kv: Mvccpb_KeyValue) {
        Out.bytes(Array("\"\(prefix)Key\" : ".utf8) + GoFormat.quote([UInt8](kv.key)) + [0x0A])
        Out.line("\"\(prefix)CreateRevision\" : \(kv.createRevision)")
        Out.line("\"\(prefix)ModRevision\" : \(kv.modRevision)")
        Out.line("\"\(prefix)Version\" : \(kv.version)")
        Out.bytes(Array("\"\(prefix)Value\" : ".utf8) + GoFormat.quote([UInt8](kv.value)) + [0x0A])
        Out.line("\"\(prefix)Lease\" : \(kv.lease)")
    }

    private func fieldsHeader(_ has: Bool, _ h: Etcdserverpb_ResponseHeader) {
        if !has { nilHeaderPanic() }
        Out.line("\"ClusterID\" : \(h.clusterID)")
        Out.line("\"MemberID\" : \(h.memberID)")
        Out.line("\"Revision\" : \(h.revision)")
        Out.line("\"RaftTerm\" : \(h.raftTerm)")
    }

    private func fieldsQuoted(_ name: String, _ text: String) {
        Out.line("\"\(name)\" : \(GoFormat.quote(text))")
    }

    // MARK: - KV

    func get(_ r: Etcdserverpb_RangeResponse) {
        switch format {
        case .simple: r.kvs.forEach(printKV)
        case .json: Out.line(GoJSON.range(r))
        case .protobuf: protobuf(r)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            for kv in r.kvs { fieldsKV("", kv) }
            Out.line("\"More\" : \(r.more)")
            Out.line("\"Count\" : \(r.count)")
        case .table: unsupported()
        }
    }

    func put(_ r: Etcdserverpb_PutResponse) {
        switch format {
        case .simple:
            Out.line("OK")
            if r.hasPrevKv { printKV(r.prevKv) }
        case .json: Out.line(GoJSON.put(r))
        case .protobuf: protobuf(r)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            if r.hasPrevKv { fieldsKV("Prev", r.prevKv) }
        case .table: unsupported()
        }
    }

    func delete(_ r: Etcdserverpb_DeleteRangeResponse) {
        switch format {
        case .simple:
            Out.line(String(r.deleted))
            r.prevKvs.forEach(printKV)
        case .json: Out.line(GoJSON.delete(r))
        case .protobuf: protobuf(r)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            Out.line("\"Deleted\" : \(r.deleted)")
            for kv in r.prevKvs { fieldsKV("Prev", kv) }
        case .table: unsupported()
        }
    }

    func txn(_ r: Etcdserverpb_TxnResponse) {
        switch format {
        case .simple:
            Out.line(r.succeeded ? "SUCCESS" : "FAILURE")
            for op in r.responses {
                Out.line()
                switch op.response {
                case .responseRange(let x): get(x)
                case .responsePut(let x): put(x)
                case .responseDeleteRange(let x): delete(x)
                default: Out.line("unexpected response \(op)")
                }
            }
        case .json: Out.line(GoJSON.txn(r))
        case .protobuf: protobuf(r)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            Out.line("\"Succeeded\" : \(r.succeeded)")
            for op in r.responses {
                switch op.response {
                case .responseRange(let x): get(x)
                case .responsePut(let x): put(x)
                case .responseDeleteRange(let x): delete(x)
                default: Out.line("\"Unknown\" : \(GoFormat.quote("\(op)"))")
                }
            }
        case .table: unsupported()
        }
    }

    func watch(_ r: Etcdserverpb_WatchResponse) {
        switch format {
        case .simple:
            for event in r.events {
                Out.line(event.type == .delete ? "DELETE" : "PUT")
                if event.hasPrevKv { printKV(event.prevKv) }
                printKV(event.kv)
            }
        case .json: Out.line(GoJSON.watch(r))
        case .protobuf:
            var copy = Etcdserverpb_WatchResponse()
            copy.header = r.header
            copy.events = r.events
            copy.compactRevision = r.compactRevision
            copy.canceled = r.canceled
            copy.created = r.created
            protobuf(copy)
        case .fields:
            fieldsHeader(true, r.header)
            for event in r.events {
                Out.line("\"Type\" : \(event.type == .delete ? "DELETE" : "PUT")")
                if event.hasPrevKv { fieldsKV("Prev", event.prevKv) }
                fieldsKV("", event.kv)
            }
        case .table: unsupported()
        }
    }

    // MARK: - Lease

    func grant(_ r: Etcdserverpb_LeaseGrantResponse) {
        leaseAnswer(r.hasHeader, r.header, id: r.id, ttl: r.ttl,
                    simple: "lease \(LeaseID(r.id).hex) granted with TTL(\(r.ttl)s)", json: GoJSON.leaseGrant(r))
    }

    /// Grant and keep-alive answers: the client's structs with an embedded header.
    private func leaseAnswer(_ hasHeader: Bool, _ header: Etcdserverpb_ResponseHeader, id: Int64, ttl: Int64,
                             simple: String, json: String) {
        switch format {
        case .simple: Out.line(simple)
        case .json: Out.line(json)
        case .protobuf: protobufHeader(hasHeader, header)
        case .fields:
            fieldsHeader(hasHeader, header)
            Out.line("\"ID\" : \(id)")
            Out.line("\"TTL\" : \(ttl)")
        case .table: unsupported()
        }
    }

    func revoke(_ id: LeaseID, _ r: Etcdserverpb_LeaseRevokeResponse) {
        switch format {
        case .simple: Out.line("lease \(id.hex) revoked")
        case .json: Out.line(GoJSON.leaseRevoke(r))
        case .protobuf: protobuf(r)
        case .fields: fieldsHeader(r.hasHeader, r.header)
        case .table: unsupported()
        }
    }

    func keepAlive(_ r: Etcdserverpb_LeaseKeepAliveResponse) {
        leaseAnswer(r.hasHeader, r.header, id: r.id, ttl: r.ttl,
                    simple: "lease \(LeaseID(r.id).hex) keepalived with TTL(\(r.ttl))", json: GoJSON.leaseKeepAlive(r))
    }

    func timeToLive(_ r: Etcdserverpb_LeaseTimeToLiveResponse, keys: Bool) {
        switch format {
        case .simple:
            if r.grantedTtl == 0 && r.ttl == -1 {
                Out.line("lease \(LeaseID(r.id).hex) already expired")
                return
            }
            var text = Array("lease \(LeaseID(r.id).hex) granted with TTL(\(r.grantedTtl)s), remaining(\(r.ttl)s)".utf8)
            if keys {
                text += Array(", attached keys([".utf8)
                text += r.keys.map { [UInt8]($0) }.joined(separator: [0x20])
                text += Array("])".utf8)
            }
            Out.bytesLine(text)
        case .json: Out.line(GoJSON.leaseTimeToLive(r))
        case .protobuf: protobufHeader(r.hasHeader, r.header)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            Out.line("\"ID\" : \(r.id)")
            Out.line("\"TTL\" : \(r.ttl)")
            Out.line("\"GrantedTTL\" : \(r.grantedTtl)")
            for key in r.keys { Out.bytes(Array("\"Key\" : ".utf8) + GoFormat.quote([UInt8](key)) + [0x0A]) }
        case .table: unsupported()
        }
    }

    func leases(_ r: Etcdserverpb_LeaseLeasesResponse) {
        switch format {
        case .simple:
            Out.line("found \(r.leases.count) leases")
            for lease in r.leases { Out.line(LeaseID(lease.id).hex) }
        case .json: Out.line(GoJSON.leaseLeases(r))
        case .protobuf: protobufHeader(r.hasHeader, r.header)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            for lease in r.leases { Out.line("\"ID\" : \(lease.id)") }
        case .table: unsupported()
        }
    }

    // MARK: - Cluster

    static func memberRows(_ members: [Etcdserverpb_Member]) -> [[String]] {
        members.map { m in
            [String(m.id, radix: 16), m.name.isEmpty ? "unstarted" : "started", m.name,
             m.peerUrls.joined(separator: ","), m.clientUrls.joined(separator: ","), m.isLearner ? "true" : "false"]
        }
    }

    func memberList(_ r: Etcdserverpb_MemberListResponse) {
        switch format {
        case .simple:
            for row in Self.memberRows(r.members) { Out.line(row.joined(separator: ", ")) }
        case .json: Out.line(GoJSON.members(hasHeader: r.hasHeader, r.header, r.members))
        case .protobuf: protobuf(r)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            for m in r.members {
                Out.line("\"ID\" : \(m.id)")
                fieldsQuoted("Name", m.name)
                for url in m.peerUrls { fieldsQuoted("PeerURL", url) }
                for url in m.clientUrls { fieldsQuoted("ClientURL", url) }
                Out.line("\"IsLearner\" : \(m.isLearner)")
                Out.line()
            }
        case .table:
            Out.print(TableWriter(header: ["ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"],
                                  rows: Self.memberRows(r.members)).render())
        }
    }

    func memberAdd(_ r: Etcdserverpb_MemberAddResponse) {
        switch format {
        case .simple:
            Out.line("Member \(GoFormat.hex(r.member.id, width: 16)) added to cluster \(GoFormat.hex(r.header.clusterID, width: 16))")
        case .json: Out.line(GoJSON.members(hasHeader: r.hasHeader, r.header, member: r.hasMember ? r.member : nil, r.members))
        case .protobuf: protobuf(r)
        case .fields, .table: unsupported()
        }
    }

    /// Member remove, update and promote.
    func memberChange(_ verb: String, _ id: UInt64, _ r: MemberChangeResponse) {
        switch format {
        case .simple:
            Out.line("Member \(GoFormat.hex(id, width: 16)) \(verb) cluster \(GoFormat.hex(r.header.clusterID, width: 16))")
        case .json:
            if verb == "promoted in" { Self.goNilInterfacePanic() }
            let raw = try? Etcdserverpb_MemberListResponse(serializedBytes: r.rawBytes)
            Out.line(GoJSON.members(hasHeader: raw?.hasHeader ?? false, raw?.header ?? .init(), raw?.members ?? []))
        case .protobuf:
            if verb == "promoted in" { Self.goNilInterfacePanic() }
            Out.bytes([UInt8](r.rawBytes))
        case .fields, .table: unsupported()
        }
    }

    /// etcdctl's json and protobuf printers have no `MemberPromote` and call it on a nil
    /// interface.
    static func goNilInterfacePanic() -> Never {
        Out.errLine("panic: runtime error: invalid memory address or nil pointer dereference")
        Out.errLine("[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x0]")
        exit(2)
    }

    // MARK: - Endpoints and maintenance

    func endpointHealth(_ list: [EndpointHealth]) {
        switch format {
        case .simple:
            for h in list {
                if h.error.isEmpty {
                    Out.errLine("\(h.endpoint) is healthy: successfully committed proposal: took = \(h.took)")
                } else {
                    Out.errLine("\(h.endpoint) is unhealthy: failed to commit proposal: \(h.error)")
                }
            }
        case .json:
            Out.line("[" + list.map { h in
                var o = GoJSONObject()
                o.string("endpoint", h.endpoint, omitEmpty: false)
                o.bool("health", h.health, omitEmpty: false)
                o.string("took", h.took, omitEmpty: false)
                o.string("error", h.error)
                return o.json
            }.joined(separator: ",") + "]")
        case .fields:
            for h in list {
                fieldsQuoted("Endpoint", h.endpoint)
                Out.line("\"Health\" : \(h.health)")
                Out.line("\"Took\" : \(h.took)")
                Out.line("\"Error\" : \(h.error)")
                Out.line()
            }
        case .table:
            Out.print(TableWriter(header: ["endpoint", "health", "took", "error"],
                                  rows: list.map { [$0.endpoint, $0.health ? "true" : "false", $0.took, $0.error] }).render())
        case .protobuf: unsupported()
        }
    }

    static func statusRow(_ endpoint: String, _ s: Etcdserverpb_StatusResponse) -> [String] {
        [endpoint, String(s.header.memberID, radix: 16), s.version, GoFormat.humanizeBytes(UInt64(max(s.dbSize, 0))),
         s.leader == s.header.memberID ? "true" : "false", s.isLearner ? "true" : "false", String(s.raftTerm),
         String(s.raftIndex), String(s.raftAppliedIndex), s.errors.joined(separator: ", ")]
    }

    func endpointStatus(_ list: [(String, Etcdserverpb_StatusResponse)]) {
        switch format {
        case .simple:
            for (endpoint, status) in list { Out.line(Self.statusRow(endpoint, status).joined(separator: ", ")) }
        case .json:
            Out.line("[" + list.map { "{\"Endpoint\":\(GoFormat.jsonString($0.0)),\"Status\":\(GoJSON.status($0.1))}" }
                .joined(separator: ",") + "]")
        case .fields:
            for (endpoint, s) in list {
                fieldsHeader(s.hasHeader, s.header)
                fieldsQuoted("Version", s.version)
                Out.line("\"DBSize\" : \(s.dbSize)")
                Out.line("\"Leader\" : \(s.leader)")
                Out.line("\"IsLearner\" : \(s.isLearner)")
                Out.line("\"RaftIndex\" : \(s.raftIndex)")
                Out.line("\"RaftTerm\" : \(s.raftTerm)")
                Out.line("\"RaftAppliedIndex\" : \(s.raftAppliedIndex)")
                Out.line("\"Errors\" : [\(s.errors.joined(separator: " "))]")
                fieldsQuoted("Endpoint", endpoint)
                Out.line()
            }
        case .table:
            Out.print(TableWriter(header: ["endpoint", "ID", "version", "db size", "is leader", "is learner", "raft term",
                                           "raft index", "raft applied index", "errors"],
                                  rows: list.map { Self.statusRow($0.0, $0.1) }).render())
        case .protobuf: unsupported()
        }
    }

    func endpointHashKV(_ list: [(String, Etcdserverpb_HashKVResponse)]) {
        switch format {
        case .simple:
            for (endpoint, r) in list { Out.line("\(endpoint), \(r.hash)") }
        case .json:
            Out.line("[" + list.map { "{\"Endpoint\":\(GoFormat.jsonString($0.0)),\"HashKV\":\(GoJSON.hashKV($0.1))}" }
                .joined(separator: ",") + "]")
        case .fields:
            for (endpoint, r) in list {
                fieldsHeader(r.hasHeader, r.header)
                fieldsQuoted("Endpoint", endpoint)
                Out.line("\"Hash\" : \(r.hash)")
                Out.line()
            }
        case .table:
            Out.print(TableWriter(header: ["endpoint", "hash"], rows: list.map { [$0.0, String($0.1.hash)] }).render())
        case .protobuf: unsupported()
        }
    }

    static func alarmName(_ type: Etcdserverpb_AlarmType) -> String {
        switch type {
        case .none: "NONE"
        case .nospace: "NOSPACE"
        case .corrupt: "CORRUPT"
        default: String(type.rawValue)
        }
    }

    func alarm(_ r: Etcdserverpb_AlarmResponse) {
        switch format {
        case .simple:
            for a in r.alarms {
                var text = a.memberID != 0 ? "memberID:\(a.memberID) " : ""
                if a.alarm != .none { text += "alarm:\(Self.alarmName(a.alarm)) " }
                Out.line(text)
            }
        case .json: Out.line(GoJSON.alarm(r))
        case .protobuf: protobuf(r)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            for a in r.alarms {
                Out.line("\"MemberID\" : \(a.memberID)")
                Out.line("\"AlarmType\" : \(Self.alarmName(a.alarm))")
                Out.line()
            }
        case .table: unsupported()
        }
    }

    func moveLeader(_ leader: UInt64, _ target: UInt64, _ r: Etcdserverpb_MoveLeaderResponse) {
        switch format {
        case .simple: Out.line("Leadership transferred from \(String(leader, radix: 16)) to \(String(target, radix: 16))")
        case .json: Out.line(GoJSON.headerOnly(ResponseHeaderView(header: r.hasHeader ? r.header : nil)))
        case .protobuf: protobuf(r)
        case .fields, .table: unsupported()
        }
    }

    func dbStatus(_ s: SnapshotStatus) {
        switch format {
        case .simple:
            Out.line([String(s.hash, radix: 16), String(s.revision), String(s.totalKey),
                      GoFormat.humanizeBytes(UInt64(s.totalSize))].joined(separator: ", "))
        case .json:
            Out.line("{\"hash\":\(s.hash),\"revision\":\(s.revision),\"totalKey\":\(s.totalKey),\"totalSize\":\(s.totalSize)}")
        case .fields:
            Out.line("\"Hash\" : \(s.hash)")
            Out.line("\"Revision\" : \(s.revision)")
            Out.line("\"Keys\" : \(s.totalKey)")
            Out.line("\"Size\" : \(s.totalSize)")
        case .table:
            Out.print(TableWriter(header: ["hash", "revision", "total keys", "total size"],
                                  rows: [[String(s.hash, radix: 16), String(s.revision), String(s.totalKey),
                                          GoFormat.humanizeBytes(UInt64(s.totalSize))]]).render())
        case .protobuf: unsupported()
        }
    }

    // MARK: - Auth

    /// Answers that are a header only (role add/delete/grant/revoke, user add/passwd/...):
    /// `simple` prints `text`; `fields` is supported only where etcdctl has it.
    func authHeader(_ r: AuthResponse, simple text: @autoclosure () -> String, fields: Bool = true) {
        switch format {
        case .simple: Out.line(text())
        case .json:
            let raw = try? Etcdserverpb_AuthRoleAddResponse(serializedBytes: r.rawBytes)
            Out.line(GoJSON.headerOnly(ResponseHeaderView(header: (raw?.hasHeader ?? false) ? raw!.header : nil)))
        case .protobuf: Out.bytes([UInt8](r.rawBytes))
        case .fields:
            guard fields else { unsupported() }
            let raw = try? Etcdserverpb_AuthRoleAddResponse(serializedBytes: r.rawBytes)
            fieldsHeader(raw?.hasHeader ?? false, raw?.header ?? .init())
        case .table: unsupported()
        }
    }

    func roleGet(_ role: String, _ r: Etcdserverpb_AuthRoleGetResponse) {
        switch format {
        case .simple:
            Out.line("Role \(role)")
            Out.line("KV Read:")
            for perm in r.perm where perm.permType == .read || perm.permType == .readwrite { printPermission(perm) }
            Out.line("KV Write:")
            for perm in r.perm where perm.permType == .write || perm.permType == .readwrite { printPermission(perm) }
        case .json:
            var o = GoJSONObject()
            GoJSON.headerField(&o, r.hasHeader, r.header)
            o.array("perm", r.perm.map(GoJSON.permission))
            Out.line(o.json)
        case .protobuf: protobuf(r)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            for perm in r.perm {
                Out.line("\"PermType\" :  \(Self.permName(perm.permType))")
                Out.bytes(Array("\"Key\" : ".utf8) + GoFormat.quote([UInt8](perm.key)) + [0x0A])
                Out.bytes(Array("\"RangeEnd\" : ".utf8) + GoFormat.quote([UInt8](perm.rangeEnd)) + [0x0A])
            }
        case .table: unsupported()
        }
    }

    static func permName(_ type: Authpb_Permission.TypeEnum) -> String {
        switch type {
        case .read: "READ"
        case .write: "WRITE"
        case .readwrite: "READWRITE"
        default: String(type.rawValue)
        }
    }

    private func printPermission(_ perm: Authpb_Permission) {
        let key = [UInt8](perm.key)
        let end = [UInt8](perm.rangeEnd)
        if end.isEmpty {
            Out.bytesLine([0x09] + key)
            return
        }
        var text: [UInt8] = [0x09]
        if end != [0] {
            text += Array("[".utf8) + key + Array(", ".utf8) + end + Array(")".utf8)
        } else {
            text += Array("[".utf8) + key + Array(", <open ended>".utf8)
        }
        if EtcdBytes(key).prefixRangeEnd.bytes == end {
            text += Array(" (prefix ".utf8) + key + Array(")".utf8)
        }
        Out.bytesLine(text)
    }

    func roleList(_ r: Etcdserverpb_AuthRoleListResponse) {
        switch format {
        case .simple: for role in r.roles { Out.line(role) }
        case .json:
            var o = GoJSONObject()
            GoJSON.headerField(&o, r.hasHeader, r.header)
            o.strings("roles", r.roles)
            Out.line(o.json)
        case .protobuf: protobuf(r)
        case .fields:
            fieldsHeader(r.hasHeader, r.header)
            Out.line("\"Roles\" :" + r.roles.map { " " + GoFormat.quote($0) }.joined())
        case .table: unsupported()
        }
    }

    func userGet(_ name: String, _ r: Etcdserverpb_AuthUserGetResponse) {
        switch format {
        case .simple:
            Out.line("User: \(name)")
            Out.line("Roles:" + r.roles.map { " " + $0 }.joined())
        case .json:
            var o = GoJSONObject()
            GoJSON.headerField(&o, r.hasHeader, r.header)
            o.strings("roles", r.roles)
            Out.line(o.json)
        case .protobuf: protobuf(r)
        case .fields, .table: unsupported()
        }
    }

    func userList(_ r: Etcdserverpb_AuthUserListResponse) {
        switch format {
        case .simple: for user in r.users { Out.line(user) }
        case .json:
            var o = GoJSONObject()
            GoJSON.headerField(&o, r.hasHeader, r.header)
            o.strings("users", r.users)
            Out.line(o.json)
        case .protobuf: protobuf(r)
        case .fields, .table: unsupported()
        }
    }
}
