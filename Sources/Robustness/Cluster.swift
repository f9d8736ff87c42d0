import EtcdProto
import Foundation
import HarnessSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct ClusterConfig: Sendable {
    /// The server executable: etcd, swetcd, or anything that takes etcd's flags.
    public var binary: URL
    public var members: Int
    /// Holds every member's data dir and logs.
    public var directory: URL
    /// Appended to every member's command line.
    public var extraArguments: [String]
    public var token: String
    public var readyTimeout: Duration

    public init(binary: URL, members: Int, directory: URL, extraArguments: [String] = [],
                token: String = "robustness-\(getpid())", readyTimeout: Duration = .seconds(60)) {
        self.binary = binary
        self.members = members
        self.directory = directory
        self.extraArguments = extraArguments
        self.token = token
        self.readyTimeout = readyTimeout
    }
}

/// Sends `signal` to the process `pid` (never to a group or by name).
func sendSignal(_ pid: Int32, _ signal: Int32) {
    #if canImport(Glibc)
    _ = Glibc.kill(pid, signal)
    #else
    _ = Darwin.kill(pid, signal)
    #endif
}

public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// N members of one binary on 127.0.0.1, bootstrapped statically as etcd does (`--initial-cluster`
/// … `--initial-cluster-state new`). Members are killed, paused and restarted by PID; data dirs
/// survive restarts. Each start of a member logs to its own file (`member-i/stderr.N`).
public actor Cluster {
    public nonisolated let config: ClusterConfig
    public nonisolated let clientPorts: [Int]
    public nonisolated let peerPorts: [Int]
    /// One connection per member for the harness's own calls (Status, MoveLeader, HashKV).
    public nonisolated let admin: [MemberConnection]
    private var children: [Child?]
    private var starts: [Int]
    private var paused: Set<Int> = []
    /// Members killed by the harness and not restarted yet.
    private var killed: Set<Int> = []
    private var memberIDs: [UInt64]
    /// Exits nobody asked for, with the log tail.
    public private(set) var crashes: [String] = []

    public init(config: ClusterConfig) throws {
        self.config = config
        let ports = try Ports.free(2 * config.members)
        clientPorts = Array(ports[0..<config.members])
        peerPorts = Array(ports[config.members...])
        admin = try clientPorts.map { try MemberConnection(port: $0) }
        children = Array(repeating: nil, count: config.members)
        starts = Array(repeating: 0, count: config.members)
        memberIDs = Array(repeating: 0, count: config.members)
    }

    public nonisolated var count: Int { config.members }

    public nonisolated func name(_ member: Int) -> String { "m\(member)" }

    public nonisolated func memberDirectory(_ member: Int) -> URL {
        config.directory.appendingPathComponent("member-\(member)")
    }

    public nonisolated func arguments(_ member: Int) -> [String] {
        let cluster = (0..<count).map { "\(name($0))=http://127.0.0.1:\(peerPorts[$0])" }.joined(separator: ",")
        let client = "http://127.0.0.1:\(clientPorts[member])"
        let peer = "http://127.0.0.1:\(peerPorts[member])"
        return [
            "--name", name(member),
            "--data-dir", memberDirectory(member).appendingPathComponent("data").path,
            "--listen-client-urls", client,
            "--advertise-client-urls", client,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", cluster,
            "--initial-cluster-token", config.token,
            "--initial-cluster-state", "new",
        ] + config.extraArguments
    }

    private func logURL(_ member: Int) -> URL {
        memberDirectory(member).appendingPathComponent("stderr.\(starts[member])")
    }

    public func logTail(_ member: Int, lines: Int = 20) -> String {
        let text = (try? String(contentsOf: logURL(member), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).map { "    \($0)" }.joined(separator: "\n")
    }

    /// Starts every member and waits until all serve linearizable reads.
    public func start() async throws {
        for member in 0..<count { try spawn(member) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for member in 0..<count {
                group.addTask { try await self.waitReady(member) }
            }
            try await group.waitForAll()
        }
        for member in 0..<count {
            memberIDs[member] = await admin[member].status(timeout: .seconds(5))?.header.memberID ?? 0
        }
    }

    private func spawn(_ member: Int) throws {
        let directory = memberDirectory(member)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        starts[member] += 1
        children[member] = try Child(
            executable: config.binary, arguments: arguments(member), environment: Binaries.cleanEnvironment(),
            stdin: nil, stdoutURL: directory.appendingPathComponent("stdout.\(starts[member])"),
            stderrURL: logURL(member))
        killed.remove(member)
        paused.remove(member)
    }

    /// Waits for "ready to serve client requests" on the member's stderr, then a linearizable read.
    private func waitReady(_ member: Int) async throws {
        let deadline = ContinuousClock.now + config.readyTimeout
        let log = logURL(member)
        var logged = false
        while ContinuousClock.now < deadline {
            guard let child = children[member], !child.hasExited else {
                throw ClusterError("member \(member) exited while starting:\n\(logTail(member))")
            }
            if !logged {
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                logged = text.contains(ServerProcess.readyMessage)
            }
            if logged, (try? await admin[member].linearizableRange("health", timeout: .seconds(2))) != nil {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ClusterError("""
            member \(member) not ready within \(config.readyTimeout) \
            (\(logged ? "no successful read" : "no \"\(ServerProcess.readyMessage)\" on stderr")):
            \(logTail(member))
            """)
    }

    /// The member runs and is not paused (as far as the harness knows).
    public func isUp(_ member: Int) -> Bool {
        guard let child = children[member], !killed.contains(member), !paused.contains(member) else { return false }
        return !child.hasExited
    }

    public func pid(_ member: Int) -> Int32? { children[member]?.pid }

    /// kill -9, and waits for the process to be gone.
    public func kill(_ member: Int) async {
        guard let child = children[member], !child.hasExited else { return }
        killed.insert(member)
        sendSignal(child.pid, SIGKILL)
        await waitExit(child, timeout: .seconds(10))
        paused.remove(member)
    }

    /// Starts a killed member again on its data dir and waits until it serves.
    public func restart(_ member: Int) async throws {
        try spawn(member)
        try await waitReady(member)
    }

    public func pause(_ member: Int) {
        guard let child = children[member], !child.hasExited else { return }
        paused.insert(member)
        sendSignal(child.pid, SIGSTOP)
    }

    public func resume(_ member: Int) {
        guard let child = children[member], paused.contains(member) else { return }
        sendSignal(child.pid, SIGCONT)
        paused.remove(member)
    }

    /// Notes members that exited without being killed by the harness (crashes).
    @discardableResult
    public func checkCrashes() -> [Int] {
        var found: [Int] = []
        for member in 0..<count where !killed.contains(member) {
            guard let child = children[member], child.hasExited else { continue }
            found.append(member)
            killed.insert(member)
            crashes.append("""
                member \(member) (pid \(child.pid)) exited by itself with status \
                \(child.process.terminationStatus) (log \(logURL(member).path)):
                \(logTail(member))
                """)
        }
        return found
    }

    /// Resumes paused members, restarts dead ones, and waits until every member serves.
    public func heal() async throws {
        checkCrashes()
        for member in paused { resume(member) }
        for member in 0..<count where children[member]?.hasExited ?? true {
            try await restart(member)
        }
        for member in 0..<count { try await waitReady(member) }
    }

    /// Member IDs (from Status at start), index by member.
    public func ids() -> [UInt64] { memberIDs }

    public func member(withID id: UInt64) -> Int? { memberIDs.firstIndex(of: id) }

    /// The leader as reported by the first running, unpaused member that answers Status.
    public func leader() async -> Int? {
        for member in 0..<count where isUp(member) {
            if let status = await admin[member].status(), status.leader != 0 {
                return self.member(withID: status.leader)
            }
        }
        return nil
    }

    /// SIGCONT to paused members, SIGTERM to all, SIGKILL to those still there after 10 s.
    public func stop() async {
        for member in paused { resume(member) }
        for child in children.compactMap({ $0 }) where !child.hasExited {
            sendSignal(child.pid, SIGTERM)
        }
        for child in children.compactMap({ $0 }) {
            await waitExit(child, timeout: .seconds(10))
            if !child.hasExited {
                sendSignal(child.pid, SIGKILL)
                await waitExit(child, timeout: .seconds(10))
            }
        }
        for member in 0..<count { killed.insert(member) }
        for connection in admin { await connection.close() }
    }

    private func waitExit(_ child: Child, timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while !child.hasExited, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Removes the data dirs and logs.
    public nonisolated func removeFiles() {
        try? FileManager.default.removeItem(at: config.directory)
    }
}
