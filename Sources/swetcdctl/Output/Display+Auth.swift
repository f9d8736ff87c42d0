import EtcdClient
import EtcdProto
import Foundation
import SwiftProtobuf

/// etcdctl's printers: auth, user and role answers.
extension Display {
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
