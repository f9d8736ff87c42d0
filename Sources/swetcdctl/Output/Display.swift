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

    func protobuf(_ message: some SwiftProtobuf.Message) {
        Out.bytes((try? message.serializedBytes()) ?? [])
    }

    /// The header alone, serialized: what etcdctl's protobuf printer writes for the client's
    /// lease structs (their embedded header is the only part that can marshal itself).
    func protobufHeader(_ has: Bool, _ header: Etcdserverpb_ResponseHeader) {
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

    func fieldsKV(_ prefix: String, _ kv: Mvccpb_KeyValue) {
        Out.bytes(Array("\"\(prefix)Key\" : ".utf8) + GoFormat.quote([UInt8](kv.key)) + [0x0A])
        Out.line("\"\(prefix)CreateRevision\" : \(kv.createRevision)")
        Out.line("\"\(prefix)ModRevision\" : \(kv.modRevision)")
        Out.line("\"\(prefix)Version\" : \(kv.version)")
        Out.bytes(Array("\"\(prefix)Value\" : ".utf8) + GoFormat.quote([UInt8](kv.value)) + [0x0A])
        Out.line("\"\(prefix)Lease\" : \(kv.lease)")
    }

    func fieldsHeader(_ has: Bool, _ h: Etcdserverpb_ResponseHeader) {
        if !has { nilHeaderPanic() }
        Out.line("\"ClusterID\" : \(h.clusterID)")
        Out.line("\"MemberID\" : \(h.memberID)")
        Out.line("\"Revision\" : \(h.revision)")
        Out.line("\"RaftTerm\" : \(h.raftTerm)")
    }

    func fieldsQuoted(_ name: String, _ text: String) {
        Out.line("\"\(name)\" : \(GoFormat.quote(text))")
    }
}
