import EtcdProto
import Foundation
import GRPCCore
import SwiftProtobuf

/// The calls, run in order against one server.
final class Scenario {
    /// The connection of the current section. Each section gets a new one: grpc-swift's client
    /// closes a connection that received 200 RST_STREAM frames within 10 s (NIO's rapid-reset
    /// protection), and grpc-go (etcd) ends every unary call whose request's END_STREAM it has
    /// not seen yet with one.
    var c: ServiceClients
    let t: Transcript
    let clientPort: Int

    init(t: Transcript, clientPort: Int) throws {
        self.t = t
        self.clientPort = clientPort
        c = try ServiceClients(port: clientPort)
    }

    func reconnect() async throws {
        await c.close()
        c = try ServiceClients(port: clientPort)
    }

    // MARK: Building blocks

    func waitUntilServing() async throws {
        let deadline = Date().addingTimeInterval(20)
        while true {
            do {
                _ = try await c.kv.range(rangeRequest("health"), options: .timeout(seconds: 2))
                return
            } catch where Date() < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// One unary call, recorded as its response's text format or its error.
    func call<Response: SwiftProtobuf.Message>(
        _ label: String, normalize: (inout Response) -> Void = { _ in },
        _ body: () async throws -> Response
    ) async {
        let service = GRPCService(responseType: Response.self)
        do {
            var response = try await body()
            normalize(&response)
            t.record(label, response.textFormatString(), service: service)
        } catch let error as RPCError {
            t.record(label, error.rendered, service: service)
        } catch {
            t.record(label, "error: \(error)", service: service)
        }
    }

    /// The responses a stream gave since its last step. `group` orders them by a key, keeping
    /// each key's own order (watch responses by watch ID: how the responses of different
    /// watches of one stream interleave is not part of etcd's contract, and etcd's own order
    /// between two watches notified of the same revision is Go map order).
    func step<Request, Response: SwiftProtobuf.Message>(
        _ label: String, _ stream: BidiStream<Request, Response>, group: ((Response) -> Int64)? = nil,
        normalize: (inout Response) -> Void = { _ in }
    ) async {
        var responses = await stream.take(expected: t.expectedCount)
        if let group {
            responses = responses.enumerated()
                .sorted { (group($0.element), $0.offset) < (group($1.element), $1.offset) }
                .map(\.element)
        }
        var text = "responses: \(responses.count)"
        for var response in responses {
            normalize(&response)
            text += "\n--- response\n" + response.textFormatString()
        }
        if let end = stream.endReason { text += "\n(\(end))" }
        t.record(label, text, service: GRPCService(responseType: Response.self))
    }

    func watchStep(_ label: String, _ stream: BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse>) async {
        await step(label, stream, group: \.watchID)
    }

    func watchStream() -> BidiStream<Etcdserverpb_WatchRequest, Etcdserverpb_WatchResponse> {
        let watch = c.watch
        return BidiStream { producer, onResponse in
            try await watch.watch(requestProducer: producer, onResponse: onResponse)
        }
    }

    func keepAliveStream() -> BidiStream<Etcdserverpb_LeaseKeepAliveRequest, Etcdserverpb_LeaseKeepAliveResponse> {
        let lease = c.lease
        return BidiStream { producer, onResponse in
            try await lease.leaseKeepAlive(requestProducer: producer, onResponse: onResponse)
        }
    }

    // MARK: The scenario

    func run() async throws {
        let sections: [(Scenario) -> () async -> Void] = [
            { $0.kvSetup }, { $0.ranges }, { $0.puts }, { $0.deletes }, { $0.txns }, { $0.txnValidation },
            { $0.leases }, { $0.lockAndElection }, { $0.watches }, { $0.fragments }, { $0.compaction }, { $0.maintenance },
        ]
        for (index, section) in sections.enumerated() {
            if index > 0 { try await reconnect() }
            await section(self)()
            if index > 1 && index < sections.count - 1 { await status("after section \(index + 1)") }
        }
    }

    /// Status, whose raft index tells whether both servers put the same requests through the
    /// log so far; the version and db sizes are member-local.
    func status(_ label: String) async {
        await call("status \(label)", normalize: { (r: inout Etcdserverpb_StatusResponse) in
            r.version = "<VERSION>"
            r.dbSize = 0
            r.dbSizeInUse = 0
        }) { try await c.maintenance.status(Etcdserverpb_StatusRequest()) }
    }

    func revision() async -> Int64 {
        (try? await c.kv.range(rangeRequest("a")).header.revision) ?? 0
    }
}

/// The service a call belongs to, told by its response type: each test of the suite compares
/// the calls of one service.
enum GRPCService: String, CaseIterable, Sendable {
    case kv = "KV", watch = "Watch", lease = "Lease", cluster = "Cluster", maintenance = "Maintenance"
    case lock = "Lock", election = "Election", unknown = "(unknown)"

    init(responseType: any SwiftProtobuf.Message.Type) {
        let name = responseType.protoMessageName
        switch name {
        case "etcdserverpb.RangeResponse", "etcdserverpb.PutResponse", "etcdserverpb.DeleteRangeResponse",
             "etcdserverpb.TxnResponse", "etcdserverpb.CompactionResponse":
            self = .kv
        case "etcdserverpb.WatchResponse": self = .watch
        case "etcdserverpb.MemberListResponse": self = .cluster
        case "etcdserverpb.StatusResponse", "etcdserverpb.HashKVResponse": self = .maintenance
        case _ where name.hasPrefix("etcdserverpb.Lease"): self = .lease
        case _ where name.hasPrefix("v3lockpb."): self = .lock
        case _ where name.hasPrefix("v3electionpb."): self = .election
        default: self = .unknown
        }
    }
}
