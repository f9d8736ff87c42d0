import EtcdConfiguration
import EtcdProto
import Foundation
import Logging
import HarnessSupport
@testable import EtcdServer

/// A single-member swetcd running inside the test process on free loopback ports, with a
/// data directory of its own that outlives restarts until `remove()`.
struct InProcessMember {
    let directory: URL
    private let arguments: [String]

    init(name: String = "m", extraArguments: [String] = []) throws {
        let ports = try Ports.free(2)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-\(name)-\(UUID().uuidString)")
        let client = "http://127.0.0.1:\(ports[0])"
        let peer = "http://127.0.0.1:\(ports[1])"
        arguments = [
            "--name", name, "--data-dir", directory.path, "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "\(name)=\(peer)",
        ] + extraArguments
    }

    /// Starts (or restarts) the member on its data directory and waits until it serves.
    func start() async throws -> EtcdServer {
        let config = try ServerConfig(ServerConfig.flags.parse(arguments, environment: [:]))
        let server = try await EtcdServer.start(config: config, logger: Logger(label: "in-process-member"))
        try await server.waitUntilReady()
        return server
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

extension EtcdServer {
    /// The values of `key` on this member, read without a ReadIndex round.
    func localValues(of key: String) async throws -> [Data] {
        var get = Etcdserverpb_RangeRequest()
        get.key = Data(key.utf8)
        get.serializable = true
        return try await range(get).kvs.map(\.value)
    }
}

extension Etcdserverpb_RequestOp {
    static func put(_ key: String, _ value: String) -> Self {
        var put = Etcdserverpb_PutRequest()
        put.key = Data(key.utf8)
        put.value = Data(value.utf8)
        var op = Self()
        op.request = .requestPut(put)
        return op
    }

    static func range(_ key: String, limit: Int64 = 0) -> Self {
        var range = Etcdserverpb_RangeRequest()
        range.key = Data(key.utf8)
        range.limit = limit
        var op = Self()
        op.request = .requestRange(range)
        return op
    }
}

extension Etcdserverpb_TxnRequest {
    /// A txn whose success branch holds a txn, `depth` times over, around `innermost`.
    static func nested(depth: Int, innermost: [Etcdserverpb_RequestOp]) -> Self {
        var txn = Self()
        txn.success = innermost
        for _ in 0..<depth {
            var op = Etcdserverpb_RequestOp()
            op.request = .requestTxn(txn)
            var outer = Self()
            outer.success = [op]
            txn = outer
        }
        return txn
    }
}
