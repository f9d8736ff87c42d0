import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One server under test (etcd or swetcd), started with etcd's flags on fresh ports and a fresh
/// data directory.
public final class ServerProcess: @unchecked Sendable {
    /// Its name in messages (`etcd`, `swetcd`, ...).
    public let role: String
    /// The executable.
    public let binary: URL
    /// Its directory: the data directory and the output files are inside.
    public let directory: URL
    /// The client port on 127.0.0.1.
    public let clientPort: Int
    /// The peer port on 127.0.0.1.
    public let peerPort: Int
    /// The process, once started.
    public private(set) var child: Child?
    /// Flags added after the common ones.
    public let extraArguments: [String]

    /// `http`, or `https` for a server given TLS flags in `extraArguments`.
    public let clientScheme: String
    /// The client URL it listens on and advertises.
    public var clientURL: String { "\(clientScheme)://127.0.0.1:\(clientPort)" }
    /// The file its stderr (its log) goes to.
    public var logURL: URL { directory.appendingPathComponent("server.stderr") }

    /// A server to be started from `binary` on these ports in `directory`.
    public init(
        role: String, binary: URL, directory: URL, clientPort: Int, peerPort: Int, extraArguments: [String] = [],
        clientScheme: String = "http"
    ) {
        self.role = role
        self.clientScheme = clientScheme
        self.binary = binary
        self.directory = directory
        self.clientPort = clientPort
        self.peerPort = peerPort
        self.extraArguments = extraArguments
    }

    /// The same flags for both servers except the ports. `--initial-advertise-peer-urls` and
    /// `--initial-cluster` keep their defaults (http://localhost:2380, nothing listens there) so
    /// that both compute etcd's default member ID 8e9e05c52164694d / cluster ID cdf818194e3a8c32.
    public var arguments: [String] {
        [
            "--name", "default",
            "--data-dir", directory.appendingPathComponent("data").path,
            "--listen-client-urls", clientURL,
            "--advertise-client-urls", clientURL,
            "--listen-peer-urls", "http://127.0.0.1:\(peerPort)",
            "--initial-cluster-token", "etcd-cluster",
        ] + extraArguments
    }

    /// Starts the process (does not wait for it to be ready).
    public func start() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        child = try Child(executable: binary, arguments: arguments,
                          environment: Binaries.cleanEnvironment(),
                          stdin: nil,
                          stdoutURL: directory.appendingPathComponent("server.stdout"),
                          stderrURL: logURL)
    }

    /// Its log so far.
    public var log: String {
        let data = (try? Data(contentsOf: logURL)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// The last `lines` lines of its log, indented, for error messages.
    public func logTail(_ lines: Int = 15) -> String {
        log.split(separator: "\n").suffix(lines).map { "    \($0)" }.joined(separator: "\n")
    }

    /// Whether it was started and has not exited.
    public var isRunning: Bool { child.map { !$0.hasExited } ?? false }

    /// Logged by etcd (capnslog text and zap JSON alike) once it serves clients. Required.
    public static let readyMessage = "ready to serve client requests"
    /// Logged once the cluster version is decided — in etcd 3.4 sometimes just before, sometimes
    /// just after the ready line. Waiting for it too makes the raft index deterministic (the
    /// version-set entry is applied before the first step); a server that never logs it is
    /// waited for a few seconds only, with a warning.
    public static let versionMessage = "enabled capabilities for version"

    /// Waits (bounded) until the server logged its ready milestones. Throws with the log tail if
    /// it exits or is not ready by `deadline`.
    public func waitForLogMilestones(deadline: Date, versionGrace: TimeInterval = 5) throws {
        var versionDeadline: Date?
        while Date() < deadline {
            let log = self.log
            if log.contains(Self.readyMessage) {
                if log.contains(Self.versionMessage) { return }
                let limit = versionDeadline ?? Date().addingTimeInterval(versionGrace)
                versionDeadline = limit
                if Date() > limit {
                    print("warning: \(role) logged \"\(Self.readyMessage)\" but not "
                        + "\"\(Self.versionMessage)\" within \(Int(versionGrace)) s; going on")
                    return
                }
            }
            if !isRunning {
                throw HarnessError("\(role) (\(binary.path)) exited during startup:\n\(logTail())")
            }
            usleep(20_000)
        }
        throw HarnessError("""
            \(role) not ready in time (no "\(Self.readyMessage)" on its stderr):\n\(logTail())
            """)
    }

    /// Stops it: SIGTERM, then SIGKILL after a grace period.
    public func stop() {
        child?.stop()
    }

    /// Kills the process at once with SIGKILL (a crash: nothing is flushed or closed) and
    /// waits for it to be gone.
    public func crash() {
        guard let child, !child.hasExited else { return }
        kill(child.pid, SIGKILL)
        child.wait(timeout: 10)
    }
}

extension ServerProcess {
    /// Starts `servers` and waits until each has logged etcd's start-up milestones, all within
    /// `timeout` seconds.
    public static func startAll(_ servers: [ServerProcess], timeout: TimeInterval = 30) throws {
        for server in servers { try server.start() }
        let deadline = Date().addingTimeInterval(timeout)
        for server in servers { try server.waitForLogMilestones(deadline: deadline) }
    }
}
