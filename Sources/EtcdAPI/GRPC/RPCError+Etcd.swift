import EtcdServer
import GRPCCore

/// Runs a server operation, turning its etcd error into the matching gRPC status.
@inline(__always)
func rpc<T>(_ body: () async throws(EtcdError) -> T) async throws(RPCError) -> T {
    do {
        return try await body()
    } catch {
        throw RPCError(error)
    }
}
