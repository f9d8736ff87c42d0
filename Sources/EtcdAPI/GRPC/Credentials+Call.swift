import EtcdServer
import GRPCCore
import LeanGRPC
import SwiftProtobuf

extension Credentials {
    /// What a gRPC call says about its caller: the `token` metadata etcd's clients send (or
    /// `authorization`, which etcd also reads), and the connection's client certificate.
    init(_ head: GRPCCallHead) {
        self.init(token: head.first("token") ?? head.first("authorization"), certificateName: head.connectionIdentity)
    }
}

extension GRPCRoutes {
    /// Serves `method` for callers holding the root role only (once auth is enabled).
    mutating func rootOnly<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: MethodDescriptor, server: EtcdServer, _ body: @escaping @Sendable (Request) async throws -> Response
    ) {
        unary(method, withHead: { (request: Request, head) in
            try await server.requireAdmin(Credentials(head))
            return try await body(request)
        })
    }
}
