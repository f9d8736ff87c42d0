import EtcdErrors
import EtcdProto
import Foundation
import GRPCCore
import GRPCProtobuf
import HarnessSupport
import SwiftProtobuf

/// A hostile client of one member's client port: the inputs that used to kill members and
/// others like them, each expecting an answer (success or etcd's error) or a closed
/// connection. It writes only under `RobustnessRun.hostilePrefix`.
struct HostileClient {
    let member: Int
    let cluster: Cluster
    let clock: RunClock
    let wasLeader: Bool
    var random: SplitMix64

    static let prefix = RobustnessRun.hostilePrefix

    /// Sends every input once, in order; one record per input.
    mutating func run() async -> [FaultRecord] {
        var recorder = HostileRecorder(kind: .hostileClient, member: member, cluster: cluster, clock: clock,
                                       wasLeader: wasLeader)
        guard let connection = try? MemberConnection(port: cluster.clientPorts[member]) else { return [] }
        let arguments = cluster.config.extraArguments
        let maxTxnOps = flagValue("max-txn-ops", in: arguments).flatMap(Int.init) ?? 128
        let maxRequestBytes = flagValue("max-request-bytes", in: arguments).flatMap(Int.init) ?? 1_572_864
        await grpcInputs(connection, &recorder, maxTxnOps: maxTxnOps, maxRequestBytes: maxRequestBytes)
        await connection.close()
        var raw = RawHostileInputs(port: cluster.clientPorts[member], random: random.derived(1))
        await raw.run(&recorder)
        return recorder.records
    }

    private mutating func grpcInputs(_ connection: MemberConnection, _ recorder: inout HostileRecorder,
                                     maxTxnOps: Int, maxRequestBytes: Int) async {
        let options = MemberConnection.options(timeout: HostileRecorder.timeout)
        let kv = connection.kv
        let lease = connection.lease
        let key = Self.key("x")
        let nonce = random.next()

        await recorder.probe("txn: put \(Self.prefix)x and range limit Int64.max", expect: .success) {
            let txn = Etcdserverpb_TxnRequest.with {
                $0.success = [
                    .with { $0.requestPut = .with { $0.key = key; $0.value = Data("hostile \(nonce)".utf8) } },
                    .with { $0.requestRange = Self.prefixRange { $0.limit = .max } },
                ]
            }
            return "revision \(try await kv.txn(txn, options: options).header.revision)"
        }
        for depth in [50, 100, 200] {
            let txn = Self.nestedTxn(depth: depth, key: Self.key("nested-\(depth)"))
            let expect: HostileExpectation = depth > maxTxnOps ? .error(EtcdErrorKind.tooManyOps.message) : .success
            await recorder.probe("txn nested \(depth) levels deep", expect: expect) {
                // The answer nests as deep as the request; SwiftProtobuf's default limit is 100.
                let response = try await kv.txn(
                    request: ClientRequest(message: txn), serializer: ProtobufSerializer<Etcdserverpb_TxnRequest>(),
                    deserializer: DeepProtobufDeserializer<Etcdserverpb_TxnResponse>(), options: options) {
                        try $0.message
                    }
                return "revision \(response.header.revision)"
            }
        }
        await recorder.probe("range with sort target 99", expect: .error(EtcdErrorKind.invalidSortOption.message)) {
            let range = Self.prefixRange { $0.sortTarget = .UNRECOGNIZED(99) }
            return "\(try await kv.range(range, options: options).kvs.count) keys"
        }
        let ranges: [(Int64, HostileExpectation)] = [
            (-5, .success), (.max, .error(EtcdErrorKind.futureRevision.message)),
        ]
        for (revision, expect) in ranges {
            await recorder.probe("range at revision \(revision)", expect: expect) {
                let range = Self.prefixRange { $0.revision = revision }
                return "\(try await kv.range(range, options: options).kvs.count) keys"
            }
        }
        for revision in [Int64.min, .max] {
            await recorder.probe("watch from revision \(revision)", expect: .anyAnswer) {
                try await Self.firstWatchResponse(connection, from: revision)
            }
        }
        await recorder.probe("lease grant with TTL Int64.max", expect: .error(EtcdErrorKind.leaseTTLTooLarge.message)) {
            "lease \(try await lease.leaseGrant(.with { $0.ttl = .max }, options: options).id)"
        }
        await recorder.probe("lease grant with TTL -1, then its revoke", expect: .success) {
            let granted = try await lease.leaseGrant(.with { $0.ttl = -1 }, options: options)
            _ = try await lease.leaseRevoke(.with { $0.id = granted.id }, options: options)
            return "lease \(granted.id) with TTL \(granted.ttl), revoked"
        }
        let id = Int64(bitPattern: random.next() | 1)
        await recorder.probe("lease keep-alive of a random lease", expect: .anyAnswer) {
            try await lease.leaseKeepAlive(options: options) { writer in
                try await writer.write(.with { $0.id = id })
            } onResponse: { response in
                for try await message in response.messages { return "lease \(id) TTL \(message.ttl)" }
                return "stream ended"
            }
        }
        await recorder.probe("lease revoke of a random lease", expect: .error(EtcdErrorKind.leaseNotFound.message)) {
            _ = try await lease.leaseRevoke(.with { $0.id = id }, options: options)
            return "revoked \(id)"
        }
        await recorder.probe("lease time-to-live of a random lease", expect: .anyAnswer) {
            "lease \(id) TTL \(try await lease.leaseTimeToLive(.with { $0.id = id; $0.keys = true }, options: options).ttl)"
        }
        let compactions: [(Int64, String)] = [
            (.max, EtcdErrorKind.futureRevision.message),
            (-5, EtcdErrorKind.compacted.message),
        ]
        for (revision, expect) in compactions {
            await recorder.probe("compaction at revision \(revision)", expect: .error(expect)) {
                "revision \(try await kv.compact(.with { $0.revision = revision }, options: options).header.revision)"
            }
        }
        let big = Self.key("big")
        await recorder.probe("put of \(maxRequestBytes + 65536) bytes, over --max-request-bytes", expect: .anyError) {
            let put = Etcdserverpb_PutRequest.with {
                $0.key = big
                $0.value = Data(repeating: 0x61, count: maxRequestBytes + 65536)
            }
            return "revision \(try await kv.put(put, options: options).header.revision)"
        }
    }

    static func key(_ name: String) -> Data { Data((prefix + name).utf8) }

    /// A range of every hostile key, adjusted by `change`.
    static func prefixRange(_ change: (inout Etcdserverpb_RangeRequest) -> Void) -> Etcdserverpb_RangeRequest {
        var range = Etcdserverpb_RangeRequest()
        range.key = Data(prefix.utf8)
        range.rangeEnd = Data(Watcher.prefixEnd(prefix).utf8)
        change(&range)
        return range
    }

    /// `depth` txns, each the only operation of the one around it; the innermost puts `key`.
    static func nestedTxn(depth: Int, key: Data) -> Etcdserverpb_TxnRequest {
        var txn = Etcdserverpb_TxnRequest.with {
            $0.success = [.with { $0.requestPut = .with { $0.key = key; $0.value = Data("nested".utf8) } }]
        }
        for _ in 1..<depth {
            let inner = txn
            txn = .with { $0.success = [.with { $0.requestTxn = inner }] }
        }
        return txn
    }

    /// Watches every hostile key from `revision` and returns the first response, cancelling the
    /// watch then or after a second without one (a silent watch is not a dead member).
    static func firstWatchResponse(_ connection: MemberConnection, from revision: Int64) async throws -> String {
        var request = Etcdserverpb_WatchRequest()
        request.createRequest = .with {
            $0.key = Data(prefix.utf8)
            $0.rangeEnd = Data(Watcher.prefixEnd(prefix).utf8)
            $0.startRevision = revision
        }
        let create = request
        do {
            return try await connection.watch.watch(options: MemberConnection.options(timeout: .seconds(1))) { writer in
                try await writer.write(create)
                while true { try await Task.sleep(for: .seconds(3600)) }
            } onResponse: { response in
                for try await message in response.messages {
                    return message.canceled
                        ? "cancelled: \"\(message.cancelReason)\" (compact revision \(message.compactRevision))"
                        : "\(message.created ? "created" : "response"), \(message.events.count) events"
                }
                return "stream ended"
            }
        } catch let error as RPCError where error.code == .deadlineExceeded {
            return "no response within 1 s, cancelled"
        }
    }
}

/// Decodes protobuf messages nested deeper than SwiftProtobuf's default limit of 100.
struct DeepProtobufDeserializer<Message: SwiftProtobuf.Message>: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Message {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 1000
        let bytes = serializedMessageBytes.withUnsafeBytes { Array($0) }
        return try Message(serializedBytes: bytes, options: options)
    }
}
