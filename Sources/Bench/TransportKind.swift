import ArgumentParser

/// How the benchmark talks gRPC.
public enum TransportKind: String, ExpressibleByArgument, Sendable, CaseIterable {
    /// ``LeanClientHandler``: raw HTTP/2 frames on swift-nio-http2, no per-call tasks or
    /// stream channels. The default: it costs about a fifth of grpc-swift's CPU per unary
    /// call, which matters when client and server share the machine.
    case lean
    /// grpc-swift-2's `GRPCClient` over grpc-swift-nio-transport's HTTP/2 posix transport,
    /// with the generated EtcdProto method descriptors, as an application would use it.
    case grpcSwift = "grpc-swift"
}
