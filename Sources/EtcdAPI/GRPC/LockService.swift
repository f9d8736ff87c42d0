import EtcdProto
import EtcdServer
import LeanGRPC
import Recipes

/// `v3lockpb.Lock`: distributed locks held by a lease.
enum LockService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = V3lockpb_Lock.Method
        routes.unary(Method.Lock.descriptor) { try await server.lock($0) }
        routes.unary(Method.Unlock.descriptor) { try await server.unlock($0) }
    }
}

/// `v3electionpb.Election`: leader election among lease holders.
enum ElectionService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = V3electionpb_Election.Method
        routes.unary(Method.Campaign.descriptor) { try await server.campaign($0) }
        routes.unary(Method.Proclaim.descriptor) { try await server.proclaim($0) }
        routes.unary(Method.Leader.descriptor) { try await server.leader($0) }
        routes.serverStreaming(Method.Observe.descriptor) {
            (request: V3electionpb_LeaderRequest, responses: GRPCResponseWriter<V3electionpb_LeaderResponse>) in
            try await server.observe(request) { try await responses.write($0) }
        }
        routes.unary(Method.Resign.descriptor) { try await server.resign($0) }
    }
}
