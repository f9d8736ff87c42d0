import EtcdClient
import EtcdProto
import Foundation
import SwiftProtobuf

/// etcdctl's printers: get, put, delete, txn and watch answers.
extension Display {
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
}
