import EtcdProto
import EtcdServer
import Foundation
import GRPCCore
import NIOCore
import NIOHTTP1
import Recipes
import SwiftProtobuf

/// etcd's JSON gateway: `POST /v3/<service>/<method>` with the request message as JSON,
/// answered with the response message as JSON (or, for streaming methods, a stream of
/// `{"result": ...}` lines). Paths are etcd's, including its `/v3/kv/lease/*` aliases.
struct Gateway: Sendable {
    let server: EtcdServer

    /// What a path is bound to.
    enum Route {
        case unary(@Sendable (EtcdServer, Substring, Credentials) async throws -> String)
        case streaming(@Sendable (EtcdServer, String, Credentials, HTTPBodyWriter) async throws -> Void)
    }

    static func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _: Request.Type, _ call: @escaping @Sendable (EtcdServer, Request, Credentials) async throws -> Response
    ) -> Route {
        .unary { server, body, caller in
            let request = try GatewayJSON.decode(Request.self, from: body)
            try checkSize(of: request, body: body, limit: server.config.maxReceivedMessageBytes)
            return GatewayJSON.encode(try await call(server, request, caller))
        }
    }

    /// etcd's gateway hands requests to its gRPC server, which refuses messages past its
    /// receive limit. JSON is larger than the message it holds, so a body within the limit
    /// holds a message within it and is not measured.
    private static func checkSize(of request: some SwiftProtobuf.Message, body: Substring, limit: Int) throws {
        guard body.utf8.count > limit else { return }
        let size = try request.serializedBytes() as [UInt8]
        if size.count > limit {
            throw GatewayError.messageTooLarge(size.count, limit: limit)
        }
    }

    /// A method swetcd does not have yet: the caller must be root to learn that, as etcd's
    /// admin-only maintenance calls check their caller first.
    private static func unsupported<Request: SwiftProtobuf.Message>(_: Request.Type, _ error: RPCError) -> Route {
        .unary { server, body, caller in
            _ = try GatewayJSON.decode(Request.self, from: body)
            try await server.requireAdmin(caller)
            throw error
        }
    }

    private static let routes: [String: Route] = [
        "/v3/kv/range": unary(Etcdserverpb_RangeRequest.self) { try await $0.range($1, as: $2) },
        "/v3/kv/put": unary(Etcdserverpb_PutRequest.self) { try await $0.put($1, as: $2) },
        "/v3/kv/deleterange": unary(Etcdserverpb_DeleteRangeRequest.self) { try await $0.deleteRange($1, as: $2) },
        "/v3/kv/txn": unary(Etcdserverpb_TxnRequest.self) { try await $0.txn($1, as: $2) },
        "/v3/kv/compaction": unary(Etcdserverpb_CompactionRequest.self) { try await $0.compact($1, as: $2) },

        "/v3/watch": .streaming(watch),

        "/v3/lease/grant": unary(Etcdserverpb_LeaseGrantRequest.self) { try await $0.leaseGrant($1, as: $2) },
        "/v3/lease/revoke": unary(Etcdserverpb_LeaseRevokeRequest.self) { try await $0.leaseRevoke($1, as: $2) },
        "/v3/kv/lease/revoke": unary(Etcdserverpb_LeaseRevokeRequest.self) { try await $0.leaseRevoke($1, as: $2) },
        "/v3/lease/keepalive": .streaming(keepAlive),
        "/v3/lease/timetolive": unary(Etcdserverpb_LeaseTimeToLiveRequest.self) { try await $0.leaseTimeToLiveFromLeader($1, as: $2) },
        "/v3/kv/lease/timetolive": unary(Etcdserverpb_LeaseTimeToLiveRequest.self) { try await $0.leaseTimeToLiveFromLeader($1, as: $2) },
        "/v3/lease/leases": unary(Etcdserverpb_LeaseLeasesRequest.self) { server, _, caller in try await server.leaseLeases(as: caller) },
        "/v3/kv/lease/leases": unary(Etcdserverpb_LeaseLeasesRequest.self) { server, _, caller in try await server.leaseLeases(as: caller) },

        "/v3/cluster/member/list": unary(Etcdserverpb_MemberListRequest.self) { server, request, caller in
            try await server.requireIdentity(caller)
            return try await server.memberList(linearizable: request.linearizable)
        },
        "/v3/cluster/member/add": admin(Etcdserverpb_MemberAddRequest.self) { try await $0.memberAdd($1) },
        "/v3/cluster/member/remove": admin(Etcdserverpb_MemberRemoveRequest.self) { try await $0.memberRemove($1) },
        "/v3/cluster/member/update": admin(Etcdserverpb_MemberUpdateRequest.self) { try await $0.memberUpdate($1) },
        "/v3/cluster/member/promote": admin(Etcdserverpb_MemberPromoteRequest.self) { try await $0.memberPromote($1) },

        "/v3/maintenance/status": unary(Etcdserverpb_StatusRequest.self) { server, _, caller in
            try await server.requireIdentity(caller)
            return try server.status()
        },
        "/v3/maintenance/hashkv": admin(Etcdserverpb_HashKVRequest.self) { try $0.hashKV(revision: $1.revision) },
        "/v3/maintenance/alarm": unary(Etcdserverpb_AlarmRequest.self) { try await MaintenanceService.alarm($1, server: $0, caller: $2) },
        "/v3/maintenance/hash": admin(Etcdserverpb_HashRequest.self) { server, _ in try server.backendHash() },
        "/v3/maintenance/defragment": unsupported(Etcdserverpb_DefragmentRequest.self, Unsupported.feature("defragment")),
        "/v3/maintenance/snapshot": .streaming(snapshot),
        "/v3/maintenance/transfer-leadership": admin(Etcdserverpb_MoveLeaderRequest.self) { server, request in
            try await server.moveLeader(to: request.targetID)
            return Etcdserverpb_MoveLeaderResponse()
        },
        "/v3/maintenance/downgrade": unsupported(Etcdserverpb_DowngradeRequest.self, Unsupported.feature("downgrade")),

        "/v3/lock/lock": unary(V3lockpb_LockRequest.self) { try await $0.lock($1, as: $2) },
        "/v3/lock/unlock": unary(V3lockpb_UnlockRequest.self) { try await $0.unlock($1, as: $2) },

        "/v3/election/campaign": unary(V3electionpb_CampaignRequest.self) { try await $0.campaign($1, as: $2) },
        "/v3/election/proclaim": unary(V3electionpb_ProclaimRequest.self) { try await $0.proclaim($1, as: $2) },
        "/v3/election/leader": unary(V3electionpb_LeaderRequest.self) { try await $0.leader($1, as: $2) },
        "/v3/election/resign": unary(V3electionpb_ResignRequest.self) { try await $0.resign($1, as: $2) },
        "/v3/election/observe": .streaming(observe),
    ].merging(authRoutes) { first, _ in first }

    /// A method only the root role may call (once auth is enabled).
    private static func admin<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _: Request.Type, _ call: @escaping @Sendable (EtcdServer, Request) async throws -> Response
    ) -> Route {
        unary(Request.self) { server, request, caller in
            try await server.requireAdmin(caller)
            return try await call(server, request)
        }
    }

    /// Answers `request` if its path is a gateway path; nil otherwise. The caller is who the
    /// `Authorization` header's token says: as in etcd, the gateway ignores client
    /// certificates.
    func respond(to request: HTTPRequest) async -> HTTPReply? {
        guard let route = Self.routes[String(request.path)] else { return nil }
        guard request.head.method == .POST else { return .complete(.methodNotAllowed(allow: nil)) }
        let body = String(buffer: request.body)
        let caller = Credentials(token: request.head.headers.first(name: "Authorization"))
        switch route {
        case .unary(let call):
            do {
                var response = HTTPResponse.json(try await call(server, Substring(body), caller))
                response.headers.add(name: Self.grpcContentTypeHeader, value: "application/grpc")
                return .complete(response)
            } catch {
                return .complete(GatewayError(error).response)
            }
        case .streaming(let run):
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: Self.grpcContentTypeHeader, value: "application/grpc")
            let server = self.server
            return .stream(HTTPStreamingResponse(headers: headers) { writer in
                do {
                    try await run(server, body, caller, writer)
                } catch let error where !(error is CancellationError) {
                    try await writer.write(Self.streamError(GatewayError(error)))
                }
            })
        }
    }

    /// grpc-gateway echoes the inner gRPC call's response metadata with this prefix; clients
    /// that sniff for a gateway look for it on every successful answer.
    static let grpcContentTypeHeader = "Grpc-Metadata-Content-Type"

    /// An error in the middle of a stream, as grpc-gateway writes it.
    private static func streamError(_ error: GatewayError) -> String {
        #"{"error":{"grpc_code":\#(error.code.rawValue),"http_code":\#(error.httpStatus.code),"message":\#(GatewayJSON.quote(error.message)),"http_status":\#(GatewayJSON.quote(error.httpStatus.reasonPhrase))}}"# + "\n"
    }

    // MARK: Streaming methods

    /// `/v3/watch`: each JSON object of the body is a WatchRequest; responses stream until
    /// the client disconnects.
    private static func watch(server: EtcdServer, body: String, caller: Credentials, writer: HTTPBodyWriter) async throws {
        let session = WatchSession(server: server, caller: caller)
        defer { session.stream.close() }
        for object in GatewayJSON.objects(in: body) {
            await session.handle(try GatewayJSON.decode(Etcdserverpb_WatchRequest.self, from: object))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await session.send { responses in
                    for response in responses { try await writer.write(GatewayJSON.result(response)) }
                }
            }
            group.addTask { try await session.notifyProgressPeriodically() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// `/v3/lease/keepalive`: one keep-alive per JSON object of the body.
    private static func keepAlive(server: EtcdServer, body: String, caller: Credentials, writer: HTTPBodyWriter) async throws {
        for object in GatewayJSON.objects(in: body).ifEmpty([Substring("{}")]) {
            let request = try GatewayJSON.decode(Etcdserverpb_LeaseKeepAliveRequest.self, from: object)
            do {
                try await writer.write(GatewayJSON.result(try await server.leaseKeepAlive(request.id, as: caller)))
            } catch let error as EtcdError {
                throw error
            }
        }
    }

    /// `/v3/maintenance/snapshot`: the backend's chunks, then its SHA-256.
    private static func snapshot(server: EtcdServer, body: String, caller: Credentials, writer: HTTPBodyWriter) async throws {
        _ = try GatewayJSON.decode(Etcdserverpb_SnapshotRequest.self, from: Substring(body.isEmpty ? "{}" : body))
        try await server.sendSnapshot(as: caller) { try await writer.write(GatewayJSON.result($0)) }
    }

    /// `/v3/election/observe`: the leader's values as they change.
    private static func observe(server: EtcdServer, body: String, caller: Credentials, writer: HTTPBodyWriter) async throws {
        let request = try GatewayJSON.decode(V3electionpb_LeaderRequest.self, from: Substring(body))
        try await server.observe(request, as: caller) { try await writer.write(GatewayJSON.result($0)) }
    }
}

extension Array {
    fileprivate func ifEmpty(_ replacement: [Element]) -> [Element] { isEmpty ? replacement : self }
}
