import EtcdProto
import EtcdServer
import LeanGRPC

/// `etcdserverpb.Lease`: grant, revoke, keep-alive, time-to-live and listing.
enum LeaseService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_Lease.Method
        routes.unary(Method.LeaseGrant.descriptor) { try await server.leaseGrant($0) }
        routes.unary(Method.LeaseRevoke.descriptor) { try await server.leaseRevoke($0) }
        routes.streaming(Method.LeaseKeepAlive.descriptor) {
            (requests: GRPCRequestStream<Etcdserverpb_LeaseKeepAliveRequest>, responses: GRPCResponseWriter<Etcdserverpb_LeaseKeepAliveResponse>) in
            for try await keepAlive in requests {
                try await responses.write(try await server.leaseKeepAlive(keepAlive.id))
            }
        }
        routes.unary(Method.LeaseTimeToLive.descriptor) { try await server.leaseTimeToLiveFromLeader($0) }
        routes.unary(Method.LeaseLeases.descriptor) { (_: Etcdserverpb_LeaseLeasesRequest) in server.leaseLeases() }
    }
}
