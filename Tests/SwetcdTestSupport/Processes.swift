import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A test could not set up what it needs (a process, a port, a binary).
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What a finished command printed and how it ended.
public struct CommandOutput: Sendable {
    public var stdout: Data
    public var stderr: Data
    public var status: Int32
    public var timedOut: Bool
}

/// A child process whose stdin/stdout/stderr are files: no pipe can fill up and block either side,
/// and the output can be read after the fact.
public final class Child: @unchecked Sendable {
    public let process = Process()
    public let stdoutURL: URL
    public let stderrURL: URL
    private let exitSignal = DispatchSemaphore(value: 0)
    private var exited = false

    public init(executable: URL, arguments: [String], environment: [String: String],
         stdin: URL?, stdoutURL: URL, stderrURL: URL) throws {
        self.stdoutURL = stdoutURL
        self.stderrURL = stderrURL
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: stdoutURL)
        let err = try FileHandle(forWritingTo: stderrURL)
        guard let input = try stdin.map({ try FileHandle(forReadingFrom: $0) })
            ?? FileHandle(forReadingAtPath: "/dev/null")
        else { throw TestSupportError( "cannot open /dev/null") }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let signal = exitSignal
        process.terminationHandler = { _ in signal.signal() }
        defer {
            try? out.close()
            try? err.close()
            try? input.close()
        }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }

    /// Waits (bounded) for the exit; true if it exited.
    @discardableResult
    public func wait(timeout: TimeInterval) -> Bool {
        if exited { return true }
        if exitSignal.wait(timeout: .now() + timeout) == .success {
            exited = true
            return true
        }
        return false
    }

    public var hasExited: Bool { wait(timeout: 0) }

    /// Stops the process by its PID: SIGTERM, up to `grace` seconds, then SIGKILL.
    public func stop(grace: TimeInterval = 5) {
        if hasExited { return }
        kill(pid, SIGTERM)
        if wait(timeout: grace) { return }
        kill(pid, SIGKILL)
        wait(timeout: 5)
    }

    /// Runs to completion (bounded by `timeout`, then killed) and collects the output.
    public func finish(timeout: TimeInterval) -> CommandOutput {
        var timedOut = false
        if !wait(timeout: timeout) {
            timedOut = true
            stop(grace: 1)
        }
        return CommandOutput(
            stdout: (try? Data(contentsOf: stdoutURL)) ?? Data(),
            stderr: (try? Data(contentsOf: stderrURL)) ?? Data(),
            status: exited ? process.terminationStatus : -1,
            timedOut: timedOut)
    }
}

public enum Ports {
    /// Free TCP ports on 127.0.0.1, chosen by the kernel (bind to port 0); all sockets are held
    /// open until every port is chosen, so the ports are distinct.
    public static func free(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        var ports: [Int] = []
        for _ in 0..<count {
            #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { throw TestSupportError( "socket() failed: errno \(errno)") }
            sockets.append(fd)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = 0
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
            }
            guard bound == 0 else { throw TestSupportError( "bind() failed: errno \(errno)") }
            let named = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
            }
            guard named == 0 else { throw TestSupportError( "getsockname() failed: errno \(errno)") }
            ports.append(Int(UInt16(bigEndian: addr.sin_port)))
        }
        return ports
    }
}

public enum Binaries {
    public static let installHint = "install etcd-server etcd-client (apt-get install -y etcd-server etcd-client)"

    public static func isExecutable(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            && !isDirectory.boolValue && FileManager.default.isExecutableFile(atPath: path)
    }

    /// `override` from the environment if set, else `name` on PATH.
    public static func fromPath(_ name: String, override variable: String) throws -> URL {
        let env = ProcessInfo.processInfo.environment
        if let path = env[variable], !path.isEmpty {
            guard isExecutable(path) else {
                throw TestSupportError( "\(variable)=\(path) is not an executable file; \(installHint)")
            }
            return URL(fileURLWithPath: path)
        }
        for dir in (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if isExecutable(path) { return URL(fileURLWithPath: path) }
        }
        throw TestSupportError( "\(name) not found on PATH; \(installHint)")
    }

    /// `SWETCD_BIN` if set, else the `swetcd` executable in the build products directory that
    /// holds this test bundle (`.build/<config>/swetcd` under `swift test`).
    public static func swetcd() throws -> URL {
        try builtProduct("swetcd", override: "SWETCD_BIN", buildHint: "run `swift build --product swetcd` first")
    }

    /// `SWETCDCTL_BIN` if set, else the `swetcdctl` executable next to the test bundle.
    public static func swetcdctl() throws -> URL {
        try builtProduct("swetcdctl", override: "SWETCDCTL_BIN", buildHint: "run `swift build --product swetcdctl` first")
    }

    /// The executable `name` of this package: `override` from the environment if set, else the
    /// one in the build products directory that holds this test bundle.
    public static func builtProduct(_ name: String, override variable: String, buildHint: String) throws -> URL {
        if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty {
            guard isExecutable(path) else {
                throw TestSupportError( "\(variable)=\(path) is not an executable file")
            }
            return URL(fileURLWithPath: path)
        }
        var directories: [URL] = []
        if let executable = Bundle.main.executableURL {
            directories.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        // macOS: the bundle is a directory <products>/X.xctest, run by xctest.
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        directories = directories.reduce(into: []) { unique, url in
            if !unique.contains(url) { unique.append(url) }
        }
        for directory in directories {
            let candidate = directory.appendingPathComponent(name)
            if isExecutable(candidate.path) { return candidate }
        }
        throw TestSupportError( """
            \(name) executable not found next to the test bundle (looked in \
            \(directories.map(\.path).joined(separator: ", "))); \(buildHint), \
            or set \(variable)
            """)
    }

    /// The environment for children: ours minus every ETCD_*/ETCDCTL_* variable (a stray
    /// ETCD_NAME or ETCDCTL_ENDPOINTS would silently change what is tested), plus `extra`.
    public static func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("ETCD_") && !$0.key.hasPrefix("ETCDCTL_")
        }
        env.merge(extra) { _, new in new }
        return env
    }
}

/// One server under test (etcd or swetcd), started with etcd's flags on fresh ports and a fresh
/// data directory.
public final class ServerProcess: @unchecked Sendable {
    public let role: String
    public let binary: URL
    public let directory: URL
    public let clientPort: Int
    public let peerPort: Int
    public private(set) var child: Child?
    /// Flags added after the common ones.
    public let extraArguments: [String]

    public var clientURL: String { "http://127.0.0.1:\(clientPort)" }
    public var logURL: URL { directory.appendingPathComponent("server.stderr") }

    public init(role: String, binary: URL, directory: URL, clientPort: Int, peerPort: Int, extraArguments: [String] = []) {
        self.role = role
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

    public func start() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        child = try Child(executable: binary, arguments: arguments,
                          environment: Binaries.cleanEnvironment(),
                          stdin: nil,
                          stdoutURL: directory.appendingPathComponent("server.stdout"),
                          stderrURL: logURL)
    }

    public var log: String {
        let data = (try? Data(contentsOf: logURL)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    public func logTail(_ lines: Int = 15) -> String {
        log.split(separator: "\n").suffix(lines).map { "    \($0)" }.joined(separator: "\n")
    }

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
                throw TestSupportError( "\(role) (\(binary.path)) exited during startup:\n\(logTail())")
            }
            usleep(20_000)
        }
        throw TestSupportError( """
            \(role) not ready in time (no "\(Self.readyMessage)" on its stderr):\n\(logTail())
            """)
    }

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

/// Server start-up on free ports, which someone else can take between `Ports.free` and the
/// server's bind.
public enum PortRetry {
    /// Builds servers on `portCount` free ports with `make` and starts them with `start`. When
    /// starting fails because a port was taken meanwhile (a log says "address already in use"),
    /// closes them and tries again with new ports, at most `attempts` times; any other failure
    /// is thrown at once.
    public static func start<Servers>(
        portCount: Int, attempts: Int = 3,
        make: ([Int]) throws -> Servers, start: (Servers) throws -> Void,
        logs: (Servers) -> [String], close: (Servers) -> Void
    ) throws -> Servers {
        var lastError: (any Error)?
        for _ in 0..<attempts {
            let servers = try make(try Ports.free(portCount))
            do {
                try start(servers)
                return servers
            } catch {
                lastError = error
                let portTaken = logs(servers).contains { $0.contains("address already in use") }
                close(servers)
                if !portTaken { break }
            }
        }
        throw lastError ?? TestSupportError("servers did not start")
    }
}
