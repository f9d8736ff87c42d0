import EtcdClient
import Foundation
import HarnessSupport
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Server features a test may need.
enum ServerFeature: String, CaseIterable {
    case kv, watch, lease, cluster, auth, maintenance, lock, election, tls, snapshot
    /// The real etcd's grpc-go server itself (its HTTP/2 habits); never served by swetcd.
    case grpcGo = "grpc-go"
}

/// Which server the library tests talk to.
///
/// By default (`CLIENT_TEST_SERVER=swetcd`) swetcd serves every test whose features are in
/// `SWETCD_FEATURES` (comma-separated; default: everything swetcd implements) and the real etcd
/// serves the others (TLS, snapshots), saying so. `CLIENT_TEST_SERVER=etcd` runs every
/// test against the real etcd, to check the library itself.
enum TestServerChoice {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static var swetcdFeatures: Set<ServerFeature> {
        let list = environment["SWETCD_FEATURES"] ?? "kv,watch,lease,cluster,maintenance,lock,election,auth"
        return Set(list.split(separator: ",").compactMap { ServerFeature(rawValue: String($0)) })
    }

    /// The binary and its name for a test needing `features`.
    static func binary(for features: Set<ServerFeature>, test: String) throws -> (URL, String) {
        if environment["CLIENT_TEST_SERVER"] != "etcd" {
            let missing = features.subtracting(swetcdFeatures)
            if missing.isEmpty { return (try Binaries.swetcd(), "swetcd") }
            print("\(test): swetcd lacks \(missing.map(\.rawValue).sorted().joined(separator: ", ")) "
                + "(SWETCD_FEATURES); running against etcd")
        }
        return (try Binaries.fromPath("etcd", override: "ETCD_BIN"), "etcd")
    }
}

/// One member process on loopback ports, in a data directory that survives restarts.
final class TestMember: @unchecked Sendable {
    let name: String
    let binary: URL
    let directory: URL
    let clientPort: Int
    let peerPort: Int
    /// `name=http://127.0.0.1:peer` of every member, or nil for a single member.
    var initialCluster: String?
    /// More flags for the server (the same for etcd and swetcd).
    var extraArguments: [String] = []
    private(set) var child: Child?

    init(name: String, binary: URL, directory: URL, clientPort: Int, peerPort: Int, initialCluster: String? = nil) {
        self.name = name
        self.binary = binary
        self.directory = directory
        self.clientPort = clientPort
        self.peerPort = peerPort
        self.initialCluster = initialCluster
    }

    var endpoint: String { "127.0.0.1:\(clientPort)" }
    var logURL: URL { directory.appendingPathComponent("\(name).log") }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    var arguments: [String] {
        var args = [
            "--name", name,
            "--data-dir", directory.appendingPathComponent("\(name).data").path,
            "--listen-client-urls", "http://\(endpoint)",
            "--advertise-client-urls", "http://\(endpoint)",
            "--listen-peer-urls", "http://127.0.0.1:\(peerPort)",
        ]
        if let initialCluster {
            args += [
                "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
                "--initial-cluster", initialCluster,
                "--initial-cluster-token", "client-tests",
                "--initial-cluster-state", "new",
                "--heartbeat-interval", "50", "--election-timeout", "500",
            ]
        }
        return args + extraArguments
    }

    /// Starts the process (again, after a stop: same data and ports).
    func start() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Keep the log of earlier runs: a restart appends to a new file name.
        if FileManager.default.fileExists(atPath: logURL.path) {
            let old = directory.appendingPathComponent("\(name).\(UUID().uuidString.prefix(6)).log")
            try? FileManager.default.moveItem(at: logURL, to: old)
        }
        child = try Child(executable: binary, arguments: arguments, environment: Binaries.cleanEnvironment(),
                          stdin: nil, stdoutURL: directory.appendingPathComponent("\(name).stdout"), stderrURL: logURL)
    }

    /// Waits (bounded) for the "ready to serve client requests" log line.
    func waitReady(timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(ServerProcess.readyMessage) { return }
            if let child, child.hasExited { throw HarnessError("\(name) exited:\n\(log.suffix(2000))") }
            usleep(20_000)
        }
        throw HarnessError("\(name) not ready in \(Int(timeout)) s:\n\(log.suffix(2000))")
    }

    var isRunning: Bool { child.map { !$0.hasExited } ?? false }

    /// SIGTERM, then SIGKILL after a grace period.
    func stop() { child?.stop(grace: 5) }

    /// SIGKILL at once (a crash).
    func kill() {
        guard let child, !child.hasExited else { return }
        Glibc.kill(child.pid, SIGKILL)
        child.wait(timeout: 10)
    }
}

/// A set of members started together (one, or a cluster of three), removed at the end.
final class TestCluster: @unchecked Sendable {
    let members: [TestMember]
    let root: URL
    let kind: String

    private init(members: [TestMember], root: URL, kind: String) {
        self.members = members
        self.root = root
        self.kind = kind
    }

    var endpoints: [String] { members.map(\.endpoint) }

    /// `size` members of the server chosen for `features`, on free loopback ports.
    static func start(size: Int = 1, features: Set<ServerFeature>, test: String, extraArguments: [String] = []) throws -> TestCluster {
        let (binary, kind) = try TestServerChoice.binary(for: size > 1 ? features.union([.cluster]) : features, test: test)
        return try PortRetry.start(
            portCount: 2 * size,
            make: { ports in
                let root = FileManager.default.temporaryDirectory.appendingPathComponent("etcdclient-test-\(UUID().uuidString.prefix(8))")
                let names = (0..<size).map { "m\($0)" }
                let initial = size > 1
                    ? zip(names, 0..<size).map { "\($0)=http://127.0.0.1:\(ports[2 * $1 + 1])" }.joined(separator: ",")
                    : nil
                let members = (0..<size).map { index in
                    let member = TestMember(name: names[index], binary: binary, directory: root, clientPort: ports[2 * index],
                                            peerPort: ports[2 * index + 1], initialCluster: initial)
                    member.extraArguments = extraArguments
                    return member
                }
                return TestCluster(members: members, root: root, kind: kind)
            },
            start: { cluster in
                for member in cluster.members { try member.start() }
                for member in cluster.members { try member.waitReady() }
            },
            logs: { $0.members.map(\.log) }, close: { $0.stop() })
    }

    func stop() {
        for member in members { member.stop() }
        try? FileManager.default.removeItem(at: root)
    }

    /// A client of every member.
    func client(requestTimeout: Duration = .seconds(5), configure: (inout EtcdClient.Configuration) -> Void = { _ in })
        throws -> EtcdClient
    {
        var config = EtcdClient.Configuration(endpoints: endpoints)
        config.requestTimeout = requestTimeout
        config.dialTimeout = .seconds(1)
        config.keepAliveTime = .milliseconds(500)
        config.keepAliveTimeout = .seconds(2)
        configure(&config)
        return try EtcdClient(configuration: config)
    }
}

/// Bounds an async test step in time: fails (instead of hanging) when `seconds` pass.
func withDeadline<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        guard let first = try await group.next() else { throw HarnessError("\(what): no result") }
        group.cancelAll()
        guard let value = first else { throw HarnessError("\(what): not done within \(seconds) s") }
        return value
    }
}

/// A value shared between test tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Synchronization.Mutex<Value>
    init(_ value: Value) { mutex = Synchronization.Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}
