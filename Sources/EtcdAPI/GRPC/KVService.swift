import EtcdProto
import EtcdServer
import GRPCCore

/// `etcdserverpb.KV`: ranges, puts, deletes, transactions and compaction.
struct KVService: Etcdserverpb_KV.SimpleServiceProtocol {
    let server: EtcdServer

    func range(request: Etcdserverpb_RangeRequest, context: ServerContext) async throws -> Etcdserverpb_RangeResponse {
        try await rpc { () async throws(EtcdError) in try await server.range(request) }
    }

    func put(request: Etcdserverpb_PutRequest, context: ServerContext) async throws -> Etcdserverpb_PutResponse {
        try await rpc { () async throws(EtcdError) in try await server.put(request) }
    }

    func deleteRange(request: Etcdserverpb_DeleteRangeRequest, context: ServerContext) async throws -> Etcdserverpb_DeleteRangeResponse {
        try await rpc { () async throws(EtcdError) in try await server.deleteRange(request) }
    }

    func txn(request: Etcdserverpb_TxnRequest, context: ServerContext) async throws -> Etcdserverpb_TxnResponse {
        try await rpc { () async throws(EtcdError) in try await server.txn(request) }
    }

    func compact(request: Etcdserverpb_CompactionRequest, context: ServerContext) async throws -> Etcdserverpb_CompactionResponse {
        try await rpc { () async throws(EtcdError) in try await server.compact(request) }
    }
}
