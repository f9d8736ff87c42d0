import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import HarnessSupport

/// A multi-member cluster of `swetcd` (or `etcd`) processes on loopback ports, bootstrapped
/// with etcd's static flags, for end-to-end tests. Members keep their data dirs across
/// restarts; everything is stopped by PID and removed by `shutdown()`.
final class TestCluster: @unchecked Sendable {
    // @unchecked: used from one test at a time.
    struct MemberSpec {
        var name: String
        var clientPort: Int
        var peerPort: Int
        /// `https` when the cluster runs with TLS on both ports.
        var scheme = "http"
        var clientURL: String { "\(scheme)://127.0.0.1:\(clientPort)" }
        var peerURL: String { "\(scheme)://127.0.0.1:\(peerPort)" }
        var endpoint: String { "127.0.0.1:\(clientPort)" }
    }

    let binary: URL
    let directory: URL
    let token: String
    let extraArguments: [String]
    /// env(1) assignments a member runs under, by member name (set before it starts). Such a
    /// member gets its flags as etcd's `ETCD_*` variables too (see WallClockStepTests).
    var environmentWrappers: [String: [String]] = [:]
    /// Flag values a member gets instead of the cluster's (`--peer-cert-file` of an intruder).
    var overrides: [String: [String: String]] = [:]
    /// With TLS on both ports: how test clients connect (and member URLs are https).
    let clientTLS: EtcdTestClient.TLSFiles?
    private(set) var members: [MemberSpec] = []
    private var processes: [String: Child] = [:]
    /// The --initial-cluster the founding members were started with.
    private(set) var initialCluster = ""

    init(
        size: Int, binary: URL? = nil, token: String = "swetcd-test", extraArguments: [String] = [],
        clientTLS: EtcdTestClient.TLSFiles? = nil
    ) throws {
        self.binary = try binary ?? Binaries.swetcd()
        self.clientTLS = clientTLS
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-cluster-\(UUID().uuidString)")
        self.token = token
        self.extraArguments = extraArguments
        let ports = try Ports.free(2 * size)
        for i in 0..<size {
            members.append(MemberSpec(name: "m\(i + 1)", clientPort: ports[2 * i], peerPort: ports[2 * i + 1], scheme: clientTLS == nil ? "http" : "https"))
        }
        initialCluster = members.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var endpoints: [String] { members.map(\.endpoint) }
    var scheme: String { clientTLS == nil ? "http" : "https" }

    func dataDirectory(_ name: String) -> URL { directory.appendingPathComponent(name) }
    func logURL(_ name: String) -> URL { directory.appendingPathComponent("\(name).log") }
    func log(_ name: String) -> String { (try? String(contentsOf: logURL(name), encoding: .utf8)) ?? "" }

    func arguments(for member: MemberSpec, cluster: String, state: String) -> [String] {
        var arguments = [
            "--name", member.name, "--data-dir", dataDirectory(member.name).path,
            "--listen-client-urls", member.clientURL, "--advertise-client-urls", member.clientURL,
            "--listen-peer-urls", member.peerURL, "--initial-advertise-peer-urls", member.peerURL,
            "--initial-cluster", cluster, "--initial-cluster-token", token, "--initial-cluster-state", state,
        ] + extraArguments
        for (flag, value) in overrides[member.name] ?? [:] {
            if let index = arguments.firstIndex(of: flag), index + 1 < arguments.count {
                arguments[index + 1] = value
            } else {
                arguments += [flag, value]
            }
        }
        return arguments
    }

    /// Starts every founding member and waits until all serve clients.
    func start(timeout: TimeInterval = 60) throws {
        for member in members { try launch(member, cluster: initialCluster, state: "new") }
        for member in members { try waitReady(member.name, timeout: timeout) }
    }

    func launch(_ member: MemberSpec, cluster: String, state: String) throws {
        let log = logURL(member.name)
        // Keep earlier runs' output: append by moving the old log aside.
        if FileManager.default.fileExists(atPath: log.path) {
            let old = (try? Data(contentsOf: log)) ?? Data()
            let archive = directory.appendingPathComponent("\(member.name).log.\(processes.count)-\(UUID().uuidString.prefix(4))")
            try? old.write(to: archive)
        }
        var command = [binary.path] + arguments(for: member, cluster: cluster, state: state)
        if let assignments = environmentWrappers[member.name] {
            command = ["/usr/bin/env"] + assignments + Self.flagsAsEnvironment(Array(command.dropFirst())) + [binary.path]
        }
        processes[member.name] = try Child(
            executable: URL(fileURLWithPath: command[0]), arguments: Array(command.dropFirst()),
            environment: Binaries.cleanEnvironment(), stdin: nil,
            stdoutURL: directory.appendingPathComponent("\(member.name).stdout"), stderrURL: log)
    }

    /// `--flag value` pairs as etcd's environment variables (`ETCD_FLAG=value`).
    static func flagsAsEnvironment(_ flags: [String]) -> [String] {
        stride(from: 0, to: flags.count - 1, by: 2).map { index in
            let name = flags[index].dropFirst(2).uppercased().replacingOccurrences(of: "-", with: "_")
            return "ETCD_\(name)=\(flags[index + 1])"
        }
    }

    /// Restarts a stopped member with its data dir (bootstrap flags are ignored then).
    func restart(_ name: String, timeout: TimeInterval = 60) throws {
        guard let member = members.first(where: { $0.name == name }) else { return }
        try launch(member, cluster: initialCluster, state: "new")
        try waitReady(name, timeout: timeout)
    }

    /// Waits until member `name` logged that it serves clients.
    func waitReady(_ name: String, timeout: TimeInterval = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log(name).contains("ready to serve client requests") { return }
            if let child = processes[name], child.hasExited {
                throw HarnessError("\(name) exited during startup:\n\(log(name).suffix(3000))")
            }
            usleep(50_000)
        }
        throw HarnessError("\(name) not ready in \(Int(timeout)) s:\n\(log(name).suffix(3000))")
    }

    /// SIGKILL: a crash.
    func kill(_ name: String) {
        guard let child = processes[name], !child.hasExited else { return }
        Glibc.kill(child.pid, SIGKILL)
        child.wait(timeout: 10)
    }

    /// SIGTERM: a clean stop.
    func stop(_ name: String) {
        processes[name]?.stop()
    }

    func isRunning(_ name: String) -> Bool { processes[name].map { !$0.hasExited } ?? false }

    /// Adds a member to the bookkeeping (after MemberAdd) and starts it joining the cluster.
    func join(name: String, clientPort: Int, peerPort: Int, cluster: String) throws {
        let member = MemberSpec(name: name, clientPort: clientPort, peerPort: peerPort, scheme: scheme)
        members.removeAll { $0.name == name }
        members.append(member)
        try launch(member, cluster: cluster, state: "existing")
        try waitReady(name)
    }

    func forget(_ name: String) {
        members.removeAll { $0.name == name }
    }

    func wipe(_ name: String) {
        try? FileManager.default.removeItem(at: dataDirectory(name))
    }

    /// Stops every member; the files stay when `KEEP_CLUSTER_FILES` is set (for post-mortems).
    func shutdown() {
        for child in processes.values { child.stop(grace: 5) }
        if ProcessInfo.processInfo.environment["KEEP_CLUSTER_FILES"] != nil {
            print("cluster files kept in \(directory.path)")
        } else {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    // MARK: Talking to members

    /// A gRPC client for member `name`.
    func client(_ name: String) throws -> EtcdTestClient {
        guard let member = members.first(where: { $0.name == name }) else { throw HarnessError("no member \(name)") }
        return try EtcdTestClient(port: member.clientPort, tls: clientTLS)
    }

    /// The member every running member agrees leads, waiting up to `timeout`.
    func waitForLeader(timeout: Duration = .seconds(10), excluding excluded: UInt64? = nil) async throws -> UInt64 {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var leaders: Set<UInt64> = []
            var answered = 0
            for member in members where isRunning(member.name) {
                if let status = try? await status(member.name) {
                    answered += 1
                    leaders.insert(status.leader)
                }
            }
            if answered > 0, leaders.count == 1, let leader = leaders.first, leader != 0, leader != excluded {
                return leader
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw HarnessError("no agreed leader within \(timeout)")
    }

    func status(_ name: String) async throws -> Etcdserverpb_StatusResponse {
        let client = try client(name)
        defer { Task { await client.close() } }
        return try await client.maintenance.status(Etcdserverpb_StatusRequest(), options: .timeout(seconds: 1))
    }

    /// The member name with this ID (from its status).
    func name(of id: UInt64) async -> String? {
        for member in members where isRunning(member.name) {
            if let status = try? await status(member.name), status.header.memberID == id { return member.name }
        }
        return nil
    }

    /// HashKV of every running member at `revision`, by name.
    func hashes(at revision: Int64) async throws -> [String: UInt32] {
        var result: [String: UInt32] = [:]
        for member in members where isRunning(member.name) {
            let client = try client(member.name)
            var request = Etcdserverpb_HashKVRequest()
            request.revision = revision
            result[member.name] = try await client.maintenance.hashKV(request, options: .timeout(seconds: 5)).hash
            await client.close()
        }
        return result
    }
}
