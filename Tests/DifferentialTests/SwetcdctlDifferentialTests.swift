import Foundation
import HarnessSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The differential test of swetcdctl: every step script — the KV scripts in `Scripts/*.txt` and
/// the client scripts in `Scripts/swetcdctl/*.txt` — is run through the real `etcdctl` and
/// through `swetcdctl`, each against a fresh server of its own (two servers of the same kind,
/// started alike), and every step's exit status, stdout and stderr must be identical after
/// `Normalizer` and the rules below.
///
/// Environment:
/// - `CLIENT_TEST_SERVER=etcd|swetcd`: the server both clients talk to (default etcd).
/// - `SWETCDCTL_BIN`, `ETCD_BIN`, `ETCDCTL_BIN`, `SWETCD_BIN`: the binaries.
/// - `CTLDIFF_SCRIPTS=lease,watch`: only scripts whose file name contains one of these.
/// - `CTLDIFF_KV_SCRIPTS=0`: leave out the KV scripts of `Scripts/*.txt`.
/// - `CTLDIFF_VERBOSE=1`: print every step with etcdctl's normalised output.
/// - `CTLDIFF_BUDGET_SECONDS`: overall time bound (default 600); steps not run count as differing.
///
/// Scripts use the directives of `Background.swift` (`&start`, `&send`, `&wait`, `&stop`,
/// `&kill`, `&sleep`, `&let`), here with etcdctl in one process and swetcdctl in the other,
/// plus `&env NAME=VALUE... ARGS...` (a step with extra environment variables). In arguments,
/// stdin and environment values, `$DIR` is a scratch directory of each side, `$DIR_A` the one of
/// the etcdctl side (to read one file with both clients).
final class SwetcdctlDifferentialTests: XCTestCase {
    static let kvScripts = DifferentialTests.scriptsDirectory
    static let clientScripts = DifferentialTests.scriptsDirectory.appendingPathComponent("swetcdctl")

    func testSwetcdctlMatchesEtcdctl() throws {
        let env = ProcessInfo.processInfo.environment
        let etcdctl = try Binaries.fromPath("etcdctl", override: "ETCDCTL_BIN")
        let swetcdctl = try Binaries.swetcdctl()
        let serverKind = env["CLIENT_TEST_SERVER"] ?? "etcd"
        let server = serverKind == "swetcd" ? try Binaries.swetcd() : try Binaries.fromPath("etcd", override: "ETCD_BIN")

        var files: [URL] = []
        if env["CTLDIFF_KV_SCRIPTS"] != "0" {
            files += try FileManager.default.contentsOfDirectory(at: Self.kvScripts, includingPropertiesForKeys: nil)
        }
        files += try FileManager.default.contentsOfDirectory(at: Self.clientScripts, includingPropertiesForKeys: nil)
        let filters = (env["CTLDIFF_SCRIPTS"] ?? "").split(separator: ",").map(String.init)
        files = files.filter { $0.pathExtension == "txt" }
            .filter { url in filters.isEmpty || filters.contains { url.lastPathComponent.contains($0) } }
            .sorted { ($0.deletingLastPathComponent().path, $0.lastPathComponent) < ($1.deletingLastPathComponent().path, $1.lastPathComponent) }
        XCTAssertFalse(files.isEmpty, "no scripts")

        let verbose = env["CTLDIFF_VERBOSE"] == "1"
        let budget = TimeInterval(env["CTLDIFF_BUDGET_SECONDS"] ?? "") ?? 600
        let start = Date()
        let deadline = start.addingTimeInterval(budget)
        var identical = 0
        var total = 0
        print("ctldiff: etcdctl \(etcdctl.path) vs swetcdctl \(swetcdctl.path), both against \(serverKind) (\(server.path))")

        for file in files {
            let name = (file.deletingLastPathComponent().lastPathComponent == "swetcdctl" ? "swetcdctl/" : "")
                + file.lastPathComponent
            let steps = try ScriptParser.parse(try String(contentsOf: file, encoding: .utf8), name: name)
            total += steps.count
            if Date() > deadline {
                print("ctldiff: \(name): time budget used up, \(steps.count) steps not run (counted as differing)")
                continue
            }
            let scriptStart = Date()
            let session: ClientDiffSession
            do {
                session = try ClientDiffSession.start(server: server, clients: [etcdctl, swetcdctl])
            } catch {
                print("ctldiff: \(name): could not start the servers, \(steps.count) steps not run: \(error)")
                continue
            }
            defer { session.close() }
            var same = 0
            for (index, step) in steps.enumerated() {
                if Date() > deadline {
                    print("ctldiff: \(name): time budget used up, \(steps.count - index) steps not run")
                    break
                }
                let stepStart = Date()
                let outputs = try session.run(step, number: index)
                if verbose {
                    print(String(format: "ctldiff: %@ (%.2f s) $ %@\n%@", step.location, Date().timeIntervalSince(stepStart),
                                 step.source, outputs.0))
                }
                if outputs.0 == outputs.1 {
                    same += 1
                } else {
                    print("ctldiff: DIFF \(step.location) $ \(step.source)\n"
                        + DifferentialTests.stdinPreview(step)
                        + "  (- etcdctl, + swetcdctl)\n" + LineDiff.unified(outputs.0, outputs.1))
                }
            }
            identical += same
            print(String(format: "ctldiff: %@ %d/%d steps identical (%.1f s)", name, same, steps.count,
                         Date().timeIntervalSince(scriptStart)))
        }
        print(String(format: "ctldiff: %d/%d steps identical (%.1f s)", identical, total, Date().timeIntervalSince(start)))
        XCTAssertEqual(identical, total, "\(total - identical) of \(total) steps differ between swetcdctl and etcdctl")
    }
}


/// Two servers of the same kind, etcdctl talking to the first and swetcdctl to the second, and
/// the background commands and variables of the directives.
final class ClientDiffSession {
    let root: URL
    let servers: [ServerProcess]
    /// The client of each server: etcdctl, swetcdctl.
    let clients: [URL]
    let normalizers: [Normalizer]
    private var background: [String: (step: Step, children: [Child], stdin: [Int32])] = [:]
    private var variables: [[String: String]] = [[:], [:]]
    static let clientFlags = ["--dial-timeout=2s", "--command-timeout=5s"]
    static let stepTimeout: TimeInterval = 20

    private init(root: URL, servers: [ServerProcess], clients: [URL]) {
        self.root = root
        self.servers = servers
        self.clients = clients
        normalizers = servers.map { Normalizer(clientPort: $0.clientPort) }
    }

    static func start(server: URL, clients: [URL]) throws -> ClientDiffSession {
        try PortRetry.start(
            portCount: 4,
            make: { ports in
                let root = FileManager.default.temporaryDirectory
                    .appendingPathComponent("swetcdctl-difftest-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
                return ClientDiffSession(root: root, servers: [
                    ServerProcess(role: "for-etcdctl", binary: server, directory: root.appendingPathComponent("a"),
                                  clientPort: ports[0], peerPort: ports[1]),
                    ServerProcess(role: "for-swetcdctl", binary: server, directory: root.appendingPathComponent("b"),
                                  clientPort: ports[2], peerPort: ports[3]),
                ], clients: clients)
            },
            start: { session in
                for side in 0..<2 {
                    try FileManager.default.createDirectory(at: session.scratch(side), withIntermediateDirectories: true)
                }
                try FileManager.default.createDirectory(at: session.stepDirectory, withIntermediateDirectories: true)
                try session.waitUntilReady()
            },
            logs: { $0.servers.map(\.log) }, close: { $0.close() })
    }

    var stepDirectory: URL { root.appendingPathComponent("steps") }
    func scratch(_ side: Int) -> URL { root.appendingPathComponent(side == 0 ? "scratch-a" : "scratch-b") }

    private func waitUntilReady() throws {
        try ServerProcess.startAll(servers)
        let deadline = Date().addingTimeInterval(30)
        for side in servers.indices {
            var healthy = false
            for attempt in 0..<40 where Date() < deadline {
                let child = try launch(side, ["endpoint", "health"], stdin: nil, label: "health-\(attempt)")
                if child.finish(timeout: Self.stepTimeout).status == 0 { healthy = true; break }
                usleep(100_000)
            }
            if !healthy {
                throw ScriptError(description: "\(servers[side].role) does not answer `endpoint health`:\n\(servers[side].logTail())")
            }
        }
    }

    /// `$DIR` and `${VAR}` of one side.
    private func substitute(_ text: String, _ side: Int) -> String {
        var text = text.replacingOccurrences(of: "$DIR_A", with: scratch(0).path)
            .replacingOccurrences(of: "$DIR", with: scratch(side).path)
        for (name, value) in variables[side] { text = text.replacingOccurrences(of: "${\(name)}", with: value) }
        return text
    }

    private func launch(_ side: Int, _ arguments: [String], stdin: URL?, environment: [String: String] = [:],
                        label: String) throws -> Child {
        var env = Binaries.cleanEnvironment(["ETCDCTL_API": "3"])
        for (key, value) in environment { env[key] = substitute(value, side) }
        return try Child(executable: clients[side],
                         arguments: ["--endpoints=\(servers[side].clientURL)"] + Self.clientFlags
                            + arguments.map { substitute($0, side) },
                         environment: env, stdin: stdin,
                         stdoutURL: stepDirectory.appendingPathComponent("\(label).\(side).out"),
                         stderrURL: stepDirectory.appendingPathComponent("\(label).\(side).err"))
    }

    private func render(_ outputs: [CommandOutput], _ step: Step) -> (String, String) {
        let texts = outputs.indices.map { side -> String in
            var text = normalizers[side].render(outputs[side], step: step)
            text = text.replacingOccurrences(of: scratch(0).path, with: "<DIR>")
                .replacingOccurrences(of: scratch(side).path, with: "<DIR>")
            text = text.replacing(Self.zapEpoch, with: "\"ts\":<TS>")
            text = text.replacing(Self.zapTook, with: "\"took\":<TOOK>")
            return text.replacing(Self.capnslogTime, with: "<TIME> ")
        }
        return (texts[0], texts[1])
    }

    /// zap's production logs (snapshot save) and capnslog lines (pkg/flags warnings) carry
    /// the wall clock.
    nonisolated(unsafe) static let zapEpoch = try! Regex(#""ts":[0-9]+\.[0-9]+"#)
    nonisolated(unsafe) static let zapTook = try! Regex(#""took":[0-9.e-]+"#)
    nonisolated(unsafe) static let capnslogTime = try! Regex(#"(?m)^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ "#)

    /// Runs a step or directive on both sides; returns the normalised outputs (etcdctl, swetcdctl).
    func run(_ step: Step, number: Int) throws -> (String, String) {
        if let directive = step.directive { return try run(directive, step, number: number) }
        return try plain(step, number: number)
    }

    private func stdinFile(_ step: Step, _ side: Int, _ label: String) throws -> URL? {
        guard let stdin = step.stdin else { return nil }
        let url = stepDirectory.appendingPathComponent("\(label).\(side).stdin")
        try Data(substitute(String(decoding: stdin, as: UTF8.self), side).utf8).write(to: url)
        return url
    }

    private func plain(_ step: Step, number: Int, environment: [String: String] = [:]) throws -> (String, String) {
        let children = try (0..<2).map { side in
            try launch(side, step.arguments, stdin: try stdinFile(step, side, "\(number)"), environment: environment,
                       label: "\(number)")
        }
        return render(children.map { $0.finish(timeout: Self.stepTimeout) }, step)
    }

    private func run(_ directive: String, _ step: Step, number: Int) throws -> (String, String) {
        let arguments = step.arguments
        func inner(_ dropping: Int) -> Step {
            var inner = step
            inner.arguments = Array(arguments.dropFirst(dropping))
            inner.directive = nil
            return inner
        }
        switch directive {
        case "env":
            let assignments = arguments.prefix { $0.contains("=") && !$0.hasPrefix("-") }
            var environment: [String: String] = [:]
            for pair in assignments {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                environment[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            return try plain(inner(assignments.count), number: number, environment: environment)

        case "let":
            guard arguments.count >= 2 else { throw ScriptError(description: "\(step.location): &let VAR ARGS...") }
            let result = try plain(inner(1), number: number)
            for side in 0..<2 {
                let data = (try? Data(contentsOf: stepDirectory.appendingPathComponent("\(number).\(side).out"))) ?? Data()
                let words = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
                if let id = words.first(where: { $0.count == 16 && $0.allSatisfy(\.isHexDigit) }) {
                    variables[side][arguments[0]] = String(id)
                }
            }
            return result

        case "start":
            guard arguments.count >= 2 else { throw ScriptError(description: "\(step.location): &start NAME ARGS...") }
            let name = arguments[0]
            if let old = background.removeValue(forKey: name) { finish(old, signal: SIGKILL) }
            var descriptors: [Int32] = []
            var children: [Child] = []
            for side in 0..<2 {
                var stdinURL: URL?
                if let stdin = step.stdin {
                    // A FIFO held open read-write: the child never sees EOF until stopped.
                    let url = stepDirectory.appendingPathComponent("bg-\(number).\(side).fifo")
                    guard mkfifo(url.path, 0o600) == 0 else { throw ScriptError(description: "mkfifo: errno \(errno)") }
                    let fd = open(url.path, O_RDWR)
                    guard fd >= 0 else { throw ScriptError(description: "open FIFO: errno \(errno)") }
                    descriptors.append(fd)
                    try Self.write(Data(substitute(String(decoding: stdin, as: UTF8.self), side).utf8), to: fd)
                    stdinURL = url
                }
                children.append(try launch(side, Array(arguments.dropFirst()), stdin: stdinURL, label: "bg-\(number)"))
            }
            background[name] = (inner(1), children, descriptors)
            let deadline = Date().addingTimeInterval(Session.backgroundWait)
            for (child, server) in zip(children, servers) {
                while Date() < deadline && !child.hasExited && !Session.hasConnection(pid: child.pid, toPort: server.clientPort) {
                    usleep(10_000)
                }
            }
            Thread.sleep(forTimeInterval: Session.settleTime)
            return ("started \(name)\n", "started \(name)\n")

        case "send":
            guard let command = background[arguments.first ?? ""], let stdin = step.stdin, !command.stdin.isEmpty else {
                throw ScriptError(description: "\(step.location): &send NAME needs a heredoc and a command started with one")
            }
            for (side, fd) in command.stdin.enumerated() {
                try Self.write(Data(substitute(String(decoding: stdin, as: UTF8.self), side).utf8), to: fd)
            }
            Thread.sleep(forTimeInterval: Session.settleTime)
            let text = "sent \(stdin.count) bytes to \(arguments[0])\n"
            return (text, text)

        case "wait":
            guard arguments.count == 2, let command = background[arguments[0]] else {
                throw ScriptError(description: "\(step.location): &wait NAME TEXT")
            }
            let seen = waitFor(arguments[1], command.children)
            return (seen[0], seen[1])

        case "stop", "kill":
            guard let command = background.removeValue(forKey: arguments.first ?? "") else {
                throw ScriptError(description: "\(step.location): no background command \(arguments.first ?? "")")
            }
            var seen = ["", ""]
            if directive == "stop" && arguments.count == 2 { seen = waitFor(arguments[1], command.children) }
            if directive == "stop" { Thread.sleep(forTimeInterval: Session.stopGrace) }
            let outputs = finish(command, signal: directive == "stop" ? SIGINT : SIGKILL)
            let rendered = render(outputs, command.step)
            return (seen[0] + rendered.0, seen[1] + rendered.1)

        case "sleep":
            guard let seconds = TimeInterval(arguments.first ?? ""), seconds >= 0, seconds <= 30 else {
                throw ScriptError(description: "\(step.location): &sleep SECONDS")
            }
            Thread.sleep(forTimeInterval: seconds)
            return ("slept\n", "slept\n")

        default:
            throw ScriptError(description: "\(step.location): unknown directive &\(directive)")
        }
    }

    private func waitFor(_ text: String, _ children: [Child]) -> [String] {
        let deadline = Date().addingTimeInterval(Session.backgroundWait)
        return children.map { child in
            while true {
                let data = (try? Data(contentsOf: child.stdoutURL)) ?? Data()
                if String(decoding: data, as: UTF8.self).contains(text) { return "saw \"\(text)\"\n" }
                if Date() > deadline || child.hasExited {
                    return "did not see \"\(text)\" (\(child.hasExited ? "it exited" : "timed out"))\n"
                }
                usleep(20_000)
            }
        }
    }

    @discardableResult
    private func finish(_ command: (step: Step, children: [Child], stdin: [Int32]), signal: Int32) -> [CommandOutput] {
        for child in command.children where !child.hasExited { kill(child.pid, signal) }
        let outputs = command.children.map { $0.finish(timeout: 5) }
        for fd in command.stdin { Glibc.close(fd) }
        return outputs
    }

    private static func write(_ data: Data, to fd: Int32) throws {
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                guard written > 0 else { throw ScriptError(description: "write to FIFO: errno \(errno)") }
                offset += written
            }
        }
    }

    func close() {
        for command in background.values { finish(command, signal: SIGKILL) }
        background.removeAll()
        for server in servers { server.stop() }
        try? FileManager.default.removeItem(at: root)
    }
}
