import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import HarnessSupport
import Synchronization

/// A fresh real etcd and a fresh swetcd, same flags, free ports, one temp directory that
/// `close()` removes (both processes stopped by PID).
final class ServerPair: Sendable {
    let root: URL
    let etcd: ServerProcess
    let swetcd: ServerProcess
    var servers: [ServerProcess] { [etcd, swetcd] }

    private init(root: URL, etcd: ServerProcess, swetcd: ServerProcess) {
        self.root = root
        self.etcd = etcd
        self.swetcd = swetcd
    }

    static func start(_ name: String, extraArguments: [String] = []) throws -> ServerPair {
        let etcdBinary = try Binaries.fromPath("etcd", override: "ETCD_BIN")
        let swetcdBinary = try Binaries.swetcd()
        return try PortRetry.start(
            portCount: 4,
            make: { ports in
                let root = FileManager.default.temporaryDirectory
                    .appendingPathComponent("swetcd-\(name)-\(UUID().uuidString.prefix(8))")
                return ServerPair(
                    root: root,
                    etcd: ServerProcess(role: "etcd", binary: etcdBinary, directory: root.appendingPathComponent("etcd"),
                                        clientPort: ports[0], peerPort: ports[1], extraArguments: extraArguments),
                    swetcd: ServerProcess(role: "swetcd", binary: swetcdBinary, directory: root.appendingPathComponent("swetcd"),
                                          clientPort: ports[2], peerPort: ports[3], extraArguments: extraArguments))
            },
            start: { try ServerProcess.startAll($0.servers) }, logs: { $0.servers.map(\.log) }, close: { $0.close() })
    }

    /// Stops both; removes their directory unless `DIFFTEST_KEEP=1` (then prints where it is).
    func close() {
        for server in servers { server.stop() }
        if ProcessInfo.processInfo.environment["DIFFTEST_KEEP"] == "1" {
            print("kept \(root.path)")
        } else {
            try? FileManager.default.removeItem(at: root)
        }
    }
}

/// Every etcd gRPC service client on one connection.
final class ServiceClients: Sendable {
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let kv: Etcdserverpb_KV.Client<HTTP2ClientTransport.Posix>
    let watch: Etcdserverpb_Watch.Client<HTTP2ClientTransport.Posix>
    let lease: Etcdserverpb_Lease.Client<HTTP2ClientTransport.Posix>
    let cluster: Etcdserverpb_Cluster.Client<HTTP2ClientTransport.Posix>
    let maintenance: Etcdserverpb_Maintenance.Client<HTTP2ClientTransport.Posix>
    let lock: V3lockpb_Lock.Client<HTTP2ClientTransport.Posix>
    let election: V3electionpb_Election.Client<HTTP2ClientTransport.Posix>
    private let running: Task<Void, any Error>

    init(port: Int) throws {
        let client = GRPCClient(
            transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
        self.client = client
        kv = .init(wrapping: client)
        watch = .init(wrapping: client)
        lease = .init(wrapping: client)
        cluster = .init(wrapping: client)
        maintenance = .init(wrapping: client)
        lock = .init(wrapping: client)
        election = .init(wrapping: client)
        running = Task { try await client.runConnections() }
    }

    func close() async {
        client.beginGracefulShutdown()
        _ = try? await running.value
    }
}

/// One bidirectional stream (Watch, LeaseKeepAlive) driven step by step: `send` requests,
/// `take` the responses that arrived since the last `take`.
final class BidiStream<Request: Sendable, Response: Sendable>: Sendable {
    private struct State {
        var received: [Response] = []
        var taken = 0
        var ended: String?
    }
    private final class Shared: Sendable {
        let state = Mutex(State())
    }
    private let requests: AsyncStream<Request>.Continuation
    private let shared = Shared()
    private let task: Task<Void, Never>

    /// `open` runs the RPC with a request producer and a response handler.
    init(
        _ open: @escaping @Sendable (
            _ producer: @escaping @Sendable (RPCWriter<Request>) async throws -> Void,
            _ onResponse: @escaping @Sendable (StreamingClientResponse<Response>) async throws -> Void
        ) async throws -> Void
    ) {
        let (stream, continuation) = AsyncStream<Request>.makeStream()
        requests = continuation
        let shared = self.shared
        task = Task {
            var reason = "stream ended"
            do {
                try await open({ writer in
                    for await request in stream { try await writer.write(request) }
                }, { response in
                    for try await message in response.messages { shared.state.withLock { $0.received.append(message) } }
                })
            } catch let error as RPCError {
                reason = "stream failed: \(error.code) \(error.message)"
            } catch {
                reason = "stream failed: \(error)"
            }
            shared.state.withLock { $0.ended = reason }
        }
    }

    func send(_ request: Request) { requests.yield(request) }

    var count: Int { shared.state.withLock { $0.received.count } }
    /// Every response so far.
    var all: [Response] { shared.state.withLock { $0.received } }
    var endReason: String? { shared.state.withLock { $0.ended } }

    /// Responses after the last `take`. With `expected` (the count the reference server gave),
    /// waits until that many arrived (bounded), then `grace` for extra ones; without it, until
    /// nothing new arrived for `quiet` (bounded).
    func take(expected: Int?, quiet: Duration = .milliseconds(400), grace: Duration = .milliseconds(250),
              limit: Duration = .seconds(8)) async -> [Response] {
        let start = shared.state.withLock { $0.taken }
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        if let expected {
            while count - start < expected, clock.now < deadline, endReason == nil {
                try? await Task.sleep(for: .milliseconds(10))
            }
            try? await Task.sleep(for: grace)
        } else {
            var last = count
            var lastChange = clock.now
            while clock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
                let now = count
                if now != last { last = now; lastChange = clock.now }
                if clock.now - lastChange >= quiet { break }
            }
        }
        return shared.state.withLock { state in
            let fresh = Array(state.received[start...])
            state.taken = state.received.count
            return fresh
        }
    }

    func close() async {
        requests.finish()
        task.cancel()
        _ = await task.value
    }
}

/// The ordered results of one scenario against one server: (label, rendered text, service).
final class Transcript: @unchecked Sendable {
    typealias Entry = (label: String, text: String, service: GRPCService)
    var entries: [Entry] = []
    /// The reference server's transcript (etcd's), when this one is swetcd's: stream steps
    /// wait for as many responses as etcd gave.
    let reference: Transcript?

    init(reference: Transcript?) { self.reference = reference }

    /// How many items the reference recorded for the entry that is recorded next.
    var expectedCount: Int? {
        guard let reference, entries.count < reference.entries.count else { return nil }
        return reference.entries[entries.count].text.components(separatedBy: "\n--- response\n").count - 1
    }

    func record(_ label: String, _ text: String, service: GRPCService) { entries.append((label, text, service)) }

    /// Compares with `other` entry by entry, only the entries of `service` (all when nil);
    /// prints every difference; returns (identical, total).
    func compare(with other: Transcript, name: String, service: GRPCService? = nil) -> (Int, Int) {
        let total = max(entries.count, other.entries.count)
        var identical = 0
        var compared = 0
        for index in 0..<total {
            let missing: Entry = ("(missing)", "(missing)", .unknown)
            let expected = index < entries.count ? entries[index] : missing
            let actual = index < other.entries.count ? other.entries[index] : missing
            if let service, expected.service != service && actual.service != service { continue }
            compared += 1
            if expected.label == actual.label && expected.text == actual.text {
                identical += 1
            } else {
                print("\(name): DIFF #\(index + 1) \(expected.label)\n--- etcd\n\(expected.text)\n+++ swetcd (\(actual.label))\n\(actual.text)")
            }
        }
        return (identical, compared)
    }
}

extension RPCError {
    var rendered: String { "error: \(code) \"\(message)\"" }
}
