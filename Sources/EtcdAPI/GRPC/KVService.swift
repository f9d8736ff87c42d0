import EtcdProto
import EtcdServer

/// `etcdserverpb.KV`: ranges, puts, deletes, transactions and compaction.
enum KVService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_KV.Method
        routes.unary(Method.Range.descriptor) { try await server.range($0) }
        routes.unary(Method.Put.descriptor) { try await server.put($0) }
        routes.unary(Method.DeleteRange.descriptor) { try await server.deleteRange($0) }
        routes.unary(Method.Txn.descriptor) { try await server.txn($0) }
        routes.unary(Method.Compact.descriptor) { try await server.compact($0) }
    }
}
