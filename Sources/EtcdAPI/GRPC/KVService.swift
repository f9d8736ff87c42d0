import EtcdProto
import EtcdServer
import LeanGRPC

/// `etcdserverpb.KV`: ranges, puts, deletes, transactions and compaction.
enum KVService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_KV.Method
        // The hot methods answer through completions: no task per call, reads on the
        // connection's event loop, writes answered from the thread that applied them.
        routes.unary(Method.Range.descriptor) { request, loop, respond in
            server.range(request, scheduleRead: { loop.execute($0) }, completion: respond)
        }
        routes.unary(Method.Put.descriptor) { request, _, respond in server.put(request, completion: respond) }
        routes.unary(Method.DeleteRange.descriptor) { request, _, respond in server.deleteRange(request, completion: respond) }
        routes.unary(Method.Txn.descriptor) { request, loop, respond in
            server.txn(request, scheduleRead: { loop.execute($0) }, completion: respond)
        }
        routes.unary(Method.Compact.descriptor) { try await server.compact($0) }
    }
}
