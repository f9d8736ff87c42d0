import EtcdClient
import EtcdProto
import Foundation
import SwiftProtobuf

/// etcdctl's printers: endpoint health, status and hash, alarms, move-leader, snapshot status.
extension Display {
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
}
