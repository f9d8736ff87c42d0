import EtcdProto
import EtcdServer
import LeanGRPC
import Recipes

/// `v3lockpb.Lock`: distributed locks held by a lease, run with the caller's permissions.
enum LockService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = V3lockpb_Lock.Method
        routes.unary(Method.Lock.descriptor, withHead: { try await server.lock($0, as: Credentials($1)) })
        routes.unary(Method.Unlock.descriptor, withHead: { try await server.unlock($0, as: Credentials($1)) })
    }
}

/// `v3electionpb.Election`: leader election among lease holders, run with the caller's permissions.
enum ElectionService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = V3electionpb_Election.Method
        routes.unary(Method.Campaign.descriptor, withHead: { try await server.campaign($0, as: Credentials($1)) })
        routes.unary(Method.Proclaim.descriptor, withHead: { try await server.proclaim($0, as: Credentials($1)) })
        routes.unary(Method.Leader.descriptor, withHead: { try await server.leader($0, as: Credentials($1)) })
        routes.streaming(Method.Observe.descriptor) {
            (requests: GRPCRequestStream<V3electionpb_LeaderRequest>, responses: GRPCResponseWriter<V3electionpb_LeaderResponse>) in
            var iterator = requests.makeAsyncIterator()
            guard let request = try await iterator.next() else { throw GRPCStatus.missingRequest }
            try await server.observe(request, as: Credentials(requests.head)) { try await responses.write($0) }
        }
        routes.unary(Method.Resign.descriptor, withHead: { try await server.resign($0, as: Credentials($1)) })
    }
}
