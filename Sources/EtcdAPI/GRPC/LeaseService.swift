import EtcdProto
import EtcdServer
import LeanGRPC

/// `etcdserverpb.Lease`: grant, revoke, keep-alive, time-to-live and listing.
enum LeaseService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_Lease.Method
        routes.unary(Method.LeaseGrant.descriptor, withHead: { try await server.leaseGrant($0, as: Credentials($1)) })
        routes.unary(Method.LeaseRevoke.descriptor, withHead: { try await server.leaseRevoke($0, as: Credentials($1)) })
        routes.streaming(Method.LeaseKeepAlive.descriptor) {
            (requests: GRPCRequestStream<Etcdserverpb_LeaseKeepAliveRequest>, responses: GRPCResponseWriter<Etcdserverpb_LeaseKeepAliveResponse>) in
            let caller = Credentials(requests.head)
            for try await keepAlive in requests {
                try await responses.write(try await server.leaseKeepAlive(keepAlive.id, as: caller))
            }
        }
        routes.unary(Method.LeaseTimeToLive.descriptor, withHead: { try await server.leaseTimeToLiveFromLeader($0, as: Credentials($1)) })
        routes.unary(Method.LeaseLeases.descriptor, withHead: { (_: Etcdserverpb_LeaseLeasesRequest, head) in
            try await server.leaseLeases(as: Credentials(head))
        })
    }
}
