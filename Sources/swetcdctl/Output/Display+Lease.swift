import EtcdClient
import EtcdProto
import Foundation
import SwiftProtobuf

/// etcdctl's printers: lease answers.
extension Display {
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
}
