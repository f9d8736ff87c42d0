import EtcdProto
import EtcdServer
import LeanGRPC

/// `etcdserverpb.KV`: ranges, puts, deletes, transactions and compaction.
enum KVService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_KV.Method
        // The hot methods answer through completions: no task per call, reads on the
        // connection's event loop, writes answered from the thread that applied them.
        routes.unary(Method.Range.descriptor) { request, head, loop, respond in
            server.range(request, as: Credentials(head), scheduleRead: { loop.execute($0) }, completion: respond)
        }
        routes.unary(Method.Put.descriptor) { request, head, _, respond in server.put(request, as: Credentials(head), completion: respond) }
        routes.unary(Method.DeleteRange.descriptor) { request, head, _, respond in
            server.deleteRange(request, as: Credentials(head), completion: respond)
        }
        routes.unary(Method.Txn.descriptor) { request, head, loop, respond in
            server.txn(request, as: Credentials(head), scheduleRead: { loop.execute($0) }, completion: respond)
        }
        routes.unary(Method.Compact.descriptor, withHead: { try await server.compact($0, as: Credentials($1)) })
    }
}
