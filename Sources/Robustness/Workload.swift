import EtcdProto
import Foundation
import HarnessSupport
import GRPCCore
import Synchronization

/// Monotonic time since the run started, in nanoseconds.
public struct RunClock: Sendable {
    public let start = ContinuousClock.now

    public init() {}

    public func nanoseconds() -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }
}

/// Counters the run prints while it goes.
public final class RunProgress: Sendable {
    let operations = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let faults = Atomic<Int>(0)

    public init() {}

    public var line: String {
        "\(operations.load(ordering: .relaxed)) operations (\(failures.load(ordering: .relaxed)) failed), "
            + "\(faults.load(ordering: .relaxed)) faults"
    }
}

public struct WorkloadConfig: Sendable {
    public var clients: Int
    public var keys: [String]
    /// Deadline of each request.
    public var operationTimeout: Duration
    /// Requests per second per client; 0 = as fast as answers come.
    public var rate: Double

    public init(clients: Int, keys: [String], operationTimeout: Duration = .seconds(3), rate: Double = 0) {
        self.clients = clients
        self.keys = keys
        self.operationTimeout = operationTimeout
        self.rate = rate
    }
}

/// One client of the workload: requests one at a time to one member; odd-numbered clients move
/// to the next member after an error, the others stay with theirs.
struct WorkloadClient {
    let id: Int
    let ports: [Int]
    let config: WorkloadConfig
    let clock: RunClock
    let progress: RunProgress
    var member: Int
    var random: SplitMix64
    var switchesOnError: Bool { id % 2 == 1 }
    /// The client's last view of each key, for its compare-and-sets (nil value: absent).
    var known: [String: KeyValueRecord?] = [:]
    var sequence = 0
    var operations: [HistoryOperation] = []

    init(id: Int, ports: [Int], config: WorkloadConfig, clock: RunClock, progress: RunProgress, random: SplitMix64) {
        self.id = id
        self.ports = ports
        self.config = config
        self.clock = clock
        self.progress = progress
        self.member = id % ports.count
        self.random = random
    }

    mutating func run(until end: Int64) async -> [HistoryOperation] {
        var connection: MemberConnection? = try? MemberConnection(port: ports[member])
        let pause = config.rate > 0 ? Int64(1e9 / config.rate) : 0
        var nextStart = clock.nanoseconds()
        while clock.nanoseconds() < end, !Task.isCancelled {
            if pause > 0 {
                let wait = nextStart - clock.nanoseconds()
                if wait > 0 { try? await Task.sleep(for: .nanoseconds(wait)) }
                nextStart += pause
            }
            if connection == nil { connection = try? MemberConnection(port: ports[member]) }
            guard let current = connection else { break }
            let failed = await perform(on: current)
            if failed {
                if switchesOnError {
                    await current.close()
                    member = (member + 1) % ports.count
                    connection = try? MemberConnection(port: ports[member])
                }
                try? await Task.sleep(for: .milliseconds(50 + Int(random.next() % 100)))
            }
        }
        if let connection { await connection.close() }
        return operations
    }

    private mutating func nextValue() -> String {
        sequence += 1
        return "c\(id)-\(sequence)"
    }

    private mutating func request(for key: String) -> KVRequest {
        let roll = random.next() % 100
        switch roll {
        case 0..<40: return .get
        case 40..<65: return .put(value: nextValue())
        case 65..<90:
            let comparison: Comparison
            switch known[key] {
            case nil: comparison = .modRevision(0)
            case .some(nil): comparison = .modRevision(0)
            case .some(let kv?): comparison = random.next() % 2 == 0 ? .value(kv.value) : .modRevision(kv.modRevision)
            }
            return .compareAndSet(compare: comparison, value: nextValue())
        default: return .delete
        }
    }

    /// One request, recorded; true if it failed.
    private mutating func perform(on connection: MemberConnection) async -> Bool {
        let key = config.keys[Int(random.next() % UInt64(config.keys.count))]
        let request = request(for: key)
        let options = MemberConnection.options(timeout: config.operationTimeout)
        let invoked = clock.nanoseconds()
        var response: KVResponse?
        var error: String?
        var notSent = false
        do {
            response = try await Self.send(request, key: key, to: connection, options: options)
        } catch let caught {
            error = describeError(caught)
            notSent = failedBeforeSending(caught)
        }
        let returned = response == nil ? nil : clock.nanoseconds()
        operations.append(HistoryOperation(
            id: 0, client: id, member: member, key: key, request: request, response: response,
            invoked: invoked, returned: returned, error: error, notSent: notSent))
        progress.operations.add(1, ordering: .relaxed)
        if let response {
            learn(key, request, response)
            return false
        }
        progress.failures.add(1, ordering: .relaxed)
        return true
    }

    private mutating func learn(_ key: String, _ request: KVRequest, _ response: KVResponse) {
        switch (request, response) {
        case (_, .get(_, let kv)): known[key] = .some(kv)
        case (.put(let value), .put(let revision)), (.compareAndSet(_, let value), .compareAndSet(let revision, true, _)):
            // The version and create revision are not known here; only value and mod revision are used.
            known[key] = .some(KeyValueRecord(value: value, modRevision: revision, createRevision: 0, version: 0))
        case (_, .compareAndSet(_, false, let kv)): known[key] = .some(kv)
        case (_, .delete): known[key] = .some(nil)
        default: break
        }
    }

    static func send(_ request: KVRequest, key: String, to connection: MemberConnection,
                     options: CallOptions) async throws -> KVResponse {
        let keyData = Data(key.utf8)
        switch request {
        case .get:
            var range = Etcdserverpb_RangeRequest()
            range.key = keyData
            let reply = try await connection.kv.range(range, options: options)
            return .get(revision: reply.header.revision, kv: reply.kvs.first.map(record))
        case .put(let value):
            var put = Etcdserverpb_PutRequest()
            put.key = keyData
            put.value = Data(value.utf8)
            let reply = try await connection.kv.put(put, options: options)
            return .put(revision: reply.header.revision)
        case .delete:
            var delete = Etcdserverpb_DeleteRangeRequest()
            delete.key = keyData
            let reply = try await connection.kv.deleteRange(delete, options: options)
            return .delete(revision: reply.header.revision, deleted: reply.deleted)
        case .compareAndSet(let comparison, let value):
            var compare = Etcdserverpb_Compare()
            compare.key = keyData
            compare.result = .equal
            switch comparison {
            case .value(let expected):
                compare.target = .value
                compare.value = Data(expected.utf8)
            case .modRevision(let revision):
                compare.target = .mod
                compare.modRevision = revision
            }
            var put = Etcdserverpb_PutRequest()
            put.key = keyData
            put.value = Data(value.utf8)
            var range = Etcdserverpb_RangeRequest()
            range.key = keyData
            var txn = Etcdserverpb_TxnRequest()
            txn.compare = [compare]
            var success = Etcdserverpb_RequestOp()
            success.requestPut = put
            txn.success = [success]
            var failure = Etcdserverpb_RequestOp()
            failure.requestRange = range
            txn.failure = [failure]
            let reply = try await connection.kv.txn(txn, options: options)
            let kv = reply.succeeded ? nil : reply.responses.first?.responseRange.kvs.first.map(record)
            return .compareAndSet(revision: reply.header.revision, succeeded: reply.succeeded, kv: kv)
        }
    }

    static func record(_ kv: Mvccpb_KeyValue) -> KeyValueRecord {
        KeyValueRecord(value: String(decoding: kv.value, as: UTF8.self), modRevision: kv.modRevision,
                       createRevision: kv.createRevision, version: kv.version)
    }
}
