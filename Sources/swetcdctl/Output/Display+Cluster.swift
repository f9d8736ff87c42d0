import EtcdClient
import EtcdProto
import Foundation
import SwiftProtobuf

/// etcdctl's printers: member answers.
extension Display {
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
}
