import LeanGRPC
import class EtcdClient.HTTP2ChatterFilter
import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import NIOCore
import SwiftProtobuf
import Synchronization

/// One HTTP/2 connection to one endpoint, through either transport.
public final class BenchConnection: Sendable {
    /// Where this connection goes.
    public let endpoint: Endpoint
    private let backend: Backend
    /// The auth token every call carries, once `authenticate` fetched one.
    private let token = Mutex<String?>(nil)

    private enum Backend: Sendable {
        case lean(LeanConnection)
        case grpcSwift(GRPCClient<HTTP2ClientTransport.Posix>, Task<Void, Never>)
    }

    /// Connects to `endpoint` through `transport`, over TLS when `tls` is given.
    public init(endpoint: Endpoint, transport: TransportKind, tls: BenchTLS? = nil) async throws {
        self.endpoint = endpoint
        switch transport {
        case .lean:
            var tlsHandler: (@Sendable () throws -> any ChannelHandler)?
            if let tls { tlsHandler = { try tls.handler(for: endpoint) } }
            backend = .lean(try await LeanConnection.connect(host: endpoint.host, port: endpoint.port, tlsHandler: tlsHandler))
        case .grpcSwift:
            var config = HTTP2ClientTransport.Posix.Config.defaults
            config.connection.maxIdleTime = nil
            config.backoff = .init(initial: .milliseconds(20), max: .milliseconds(500), multiplier: 1.6, jitter: 0.2)
            // See HTTP2ChatterFilter: without it the real etcd's RST_STREAM(NO_ERROR) and PING
            // frames trip swift-nio-http2's flood limits within a second of load.
            config.channelDebuggingCallbacks.onCreateTCPConnection = { channel in
                HTTP2ChatterFilter.install(on: channel)
            }
            let target: any ResolvableTarget =
                endpoint.isIPv4
                ? .ipv4(address: endpoint.host, port: endpoint.port)
                : endpoint.host.contains(":")
                    ? .ipv6(address: endpoint.host, port: endpoint.port) : .dns(host: endpoint.host, port: endpoint.port)
            let client = GRPCClient(
                transport: try HTTP2ClientTransport.Posix(
                    target: target, transportSecurity: tls?.grpcSecurity ?? .plaintext, config: config))
            backend = .grpcSwift(client, Task { try? await client.runConnections() })
        }
    }

    /// Fetches a token for `user` (etcd's benchmark `--user name:password`); every later call
    /// on this connection carries it, as clientv3's do.
    public func authenticate(_ user: BenchUser) async throws {
        var request = Etcdserverpb_AuthenticateRequest()
        request.name = user.name
        request.password = user.password
        let response = try await unary(.authenticate, request, as: Etcdserverpb_AuthenticateResponse.self)
        token.withLock { $0 = response.token }
    }

    /// One unary call of `method`.
    public func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: BenchMethod, _ request: Request, as response: Response.Type
    ) async throws -> Response {
        let token = token.withLock { $0 }
        switch backend {
        case .lean(let connection):
            return try await connection.unary(method.path, request, as: response, metadata: token.map { [("token", $0)] } ?? [])
        case .grpcSwift(let client, _):
            return try await client.unary(
                request: ClientRequest(message: request, metadata: token.map { ["token": "\($0)"] } ?? [:]), descriptor: method.descriptor,
                serializer: ProtobufSerializer<Request>(), deserializer: ProtobufDeserializer<Response>(),
                options: .defaults
            ) { try $0.message }
        }
    }

    /// Opens a bidirectional stream of `method`.
    public func stream<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: BenchMethod, sending: Request.Type, receiving: Response.Type
    ) -> BidiStream<Request, Response> {
        switch backend {
        case .lean(let connection):
            let (token, responses) = connection.openStream(method.path)
            return BidiStream(
                send: { request in
                    connection.send(token: token, framed: try request.map(GRPCMessageBuffer.framed))
                },
                cancel: { connection.cancel(token: token) },
                raw: responses)
        case .grpcSwift(let client, _):
            let (requests, requestSink) = AsyncStream<Request>.makeStream()
            let (responses, responseSink) = AsyncThrowingStream<Response, any Error>.makeStream()
            let call = Task {
                do {
                    try await client.bidirectionalStreaming(
                        request: StreamingClientRequest(of: Request.self) { writer in
                            for await request in requests { try await writer.write(request) }
                        },
                        descriptor: method.descriptor, serializer: ProtobufSerializer<Request>(),
                        deserializer: ProtobufDeserializer<Response>(), options: .defaults
                    ) { response in
                        for try await message in response.messages { responseSink.yield(message) }
                    }
                    responseSink.finish()
                } catch {
                    responseSink.finish(throwing: error)
                }
            }
            return BidiStream(
                send: { request in
                    if let request { requestSink.yield(request) } else { requestSink.finish() }
                },
                cancel: {
                    requestSink.finish()
                    call.cancel()
                },
                typed: responses)
        }
    }

    /// Makes one cheap call (a serializable get of a key nobody uses) so the connection is
    /// known to work before anything is timed; retries until `timeout`.
    public func warmUp(timeout: Duration = .seconds(10)) async throws {
        var request = Etcdserverpb_RangeRequest()
        request.key = Data("\u{0}swetcd-bench-warmup".utf8)
        request.serializable = true
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                _ = try await range(request)
                return
            } catch {
                if ContinuousClock.now >= deadline { throw error }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Closes the connection; streams still open are cancelled after a short grace.
    public func close() async {
        switch backend {
        case .lean(let connection):
            await connection.close()
        case .grpcSwift(let client, let runner):
            client.beginGracefulShutdown()
            let timeout = Task {
                try? await Task.sleep(for: .seconds(1))
                runner.cancel()
            }
            await runner.value
            timeout.cancel()
        }
    }
}

extension BenchConnection {
    /// `KV.Put`.
    public func put(_ request: Etcdserverpb_PutRequest) async throws -> Etcdserverpb_PutResponse {
        try await unary(.put, request, as: Etcdserverpb_PutResponse.self)
    }

    /// `KV.Range`.
    public func range(_ request: Etcdserverpb_RangeRequest) async throws -> Etcdserverpb_RangeResponse {
        try await unary(.range, request, as: Etcdserverpb_RangeResponse.self)
    }

    /// `KV.Txn`.
    public func txn(_ request: Etcdserverpb_TxnRequest) async throws -> Etcdserverpb_TxnResponse {
        try await unary(.txn, request, as: Etcdserverpb_TxnResponse.self)
    }

    /// `Lease.LeaseGrant`.
    public func leaseGrant(_ request: Etcdserverpb_LeaseGrantRequest) async throws -> Etcdserverpb_LeaseGrantResponse {
        try await unary(.leaseGrant, request, as: Etcdserverpb_LeaseGrantResponse.self)
    }

    /// `Maintenance.Status`.
    public func status() async throws -> Etcdserverpb_StatusResponse {
        try await unary(
            .status, Etcdserverpb_StatusRequest(),
            as: Etcdserverpb_StatusResponse.self)
    }

    /// `Cluster.MemberList`.
    public func memberList() async throws -> Etcdserverpb_MemberListResponse {
        try await unary(
            .memberList, Etcdserverpb_MemberListRequest(),
            as: Etcdserverpb_MemberListResponse.self)
    }

    /// A `Watch.Watch` stream.
    public func watchStream() -> BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse> {
        stream(.watch, sending: Etcdserverpb_WatchRequest.self, receiving: Etcdserverpb_WatchResponse.self)
    }

    /// A `Lease.LeaseKeepAlive` stream.
    public func keepAliveStream() -> BidiStream<Etcdserverpb_LeaseKeepAliveRequest, Etcdserverpb_LeaseKeepAliveResponse> {
        stream(
            .leaseKeepAlive, sending: Etcdserverpb_LeaseKeepAliveRequest.self,
            receiving: Etcdserverpb_LeaseKeepAliveResponse.self)
    }
}
