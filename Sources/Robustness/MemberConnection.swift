import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// One gRPC connection to one member, with the KV, Watch, Lease and Maintenance clients on it.
/// It reconnects by itself (quickly: members come back within seconds) until `close()`.
public final class MemberConnection: Sendable {
    public let port: Int
    public let kv: Etcdserverpb_KV.Client<HTTP2ClientTransport.Posix>
    public let watch: Etcdserverpb_Watch.Client<HTTP2ClientTransport.Posix>
    public let lease: Etcdserverpb_Lease.Client<HTTP2ClientTransport.Posix>
    public let maintenance: Etcdserverpb_Maintenance.Client<HTTP2ClientTransport.Posix>
    /// The connection itself, for other services (the peer port's, for a hostile peer).
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let running: Task<Void, Never>

    public init(port: Int) throws {
        self.port = port
        let config = HTTP2ClientTransport.Posix.Config.defaults { config in
            config.backoff = .init(initial: .milliseconds(100), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
        }
        let client = GRPCClient(
            transport: try .http2NIOPosix(
                target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext, config: config))
        self.client = client
        kv = Etcdserverpb_KV.Client(wrapping: client)
        watch = Etcdserverpb_Watch.Client(wrapping: client)
        lease = Etcdserverpb_Lease.Client(wrapping: client)
        maintenance = Etcdserverpb_Maintenance.Client(wrapping: client)
        running = Task { try? await client.runConnections() }
    }

    /// Stops new calls and waits for the connection to wind down (cancel streaming calls first).
    public func close() async {
        client.beginGracefulShutdown()
        await running.value
    }

    /// Call options with a deadline; calls fail at once while the member is unreachable.
    public static func options(timeout: Duration) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        options.waitForReady = false
        return options
    }

    /// The status of the member, or nil if it did not answer in time.
    public func status(timeout: Duration = .seconds(1)) async -> Etcdserverpb_StatusResponse? {
        try? await maintenance.status(Etcdserverpb_StatusRequest(), options: Self.options(timeout: timeout))
    }

    /// A linearizable Range of `key`: succeeds only when the member serves through a leader.
    public func linearizableRange(_ key: String, timeout: Duration) async throws -> Etcdserverpb_RangeResponse {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data(key.utf8)
        return try await kv.range(request, options: Self.options(timeout: timeout))
    }
}

/// True if the call failed before its request left the client (no connection to the member), so
/// the member never saw it.
public func failedBeforeSending(_ error: any Error) -> Bool {
    guard let rpc = error as? RPCError, rpc.code == .unavailable else { return false }
    return ["Channel is in a transient failure state", "Could not establish a connection", "Channel is shutting down"]
        .contains { rpc.message.hasPrefix($0) }
}

/// A compact description of an error a call ended with: `CODE: message` for gRPC errors.
public func describeError(_ error: any Error) -> String {
    if let rpc = error as? RPCError {
        return "\(rpc.code): \(rpc.message)"
    }
    if error is CancellationError { return "cancelled" }
    return String(describing: error)
}
