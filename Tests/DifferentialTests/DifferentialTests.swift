import Foundation
import HarnessSupport
import XCTest

/// The differential test of the KV API: the step scripts in `Scripts/*.txt` are run with the real
/// `etcdctl` against a fresh real etcd and a fresh swetcd (one fresh pair per script); every
/// step's exit status, stdout and stderr must be identical after `Normalizer`.
///
/// Environment:
/// - `SWETCD_BIN`: the server under test (default: `swetcd` next to the test bundle);
///   `SWETCD_BIN=$(which etcd)` runs etcd against etcd, which validates the harness itself.
/// - `ETCD_BIN`, `ETCDCTL_BIN`: the oracle and the client (default: from PATH).
/// - `DIFFTEST_SCRIPTS=get,txn`: only scripts whose file name contains one of these.
/// - `DIFFTEST_VERBOSE=1`: print every step's (normalised) etcd output.
/// - `DIFFTEST_TRANSCRIPT=/path`: write every step with etcd's normalised output to a file.
/// - `DIFFTEST_BUDGET_SECONDS`: overall time bound (default 240); steps not run count as differing.
final class DifferentialTests: XCTestCase {
    static let scriptsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("Scripts")

    func testKVSessionsMatchEtcd() throws {
        let env = ProcessInfo.processInfo.environment
        let etcd: URL, etcdctl: URL, swetcd: URL
        do {
            etcd = try Binaries.fromPath("etcd", override: "ETCD_BIN")
            etcdctl = try Binaries.fromPath("etcdctl", override: "ETCDCTL_BIN")
        } catch {
            XCTFail("\(error)")  // the message ends with Binaries.installHint
            return
        }
        do {
            swetcd = try Binaries.swetcd()
        } catch {
            XCTFail("\(error)")
            return
        }

        let filters = (env["DIFFTEST_SCRIPTS"] ?? "").split(separator: ",").map(String.init)
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.scriptsDirectory.path)
            .filter { $0.hasSuffix(".txt") }
            .filter { name in filters.isEmpty || filters.contains { name.contains($0) } }
            .sorted()
        XCTAssertFalse(files.isEmpty, "no step scripts in \(Self.scriptsDirectory.path)")
        let scripts = try files.map { name -> (String, [Step]) in
            let text = try String(contentsOf: Self.scriptsDirectory.appendingPathComponent(name), encoding: .utf8)
            return (name, try ScriptParser.parse(text, name: name))
        }

        let verbose = env["DIFFTEST_VERBOSE"] == "1"
        var transcript = env["DIFFTEST_TRANSCRIPT"].map { _ in "" }
        let budget = TimeInterval(env["DIFFTEST_BUDGET_SECONDS"] ?? "") ?? 240
        let start = Date()
        let deadline = start.addingTimeInterval(budget)
        var identical = 0
        var total = 0
        print("differential: etcd \(etcd.path) vs swetcd \(swetcd.path), client \(etcdctl.path)")

        var startFailed = false
        for (name, steps) in scripts {
            total += steps.count
            if Date() > deadline {
                print("differential: \(name): time budget of \(Int(budget)) s used up, \(steps.count) steps not run (counted as differing)")
                continue
            }
            if startFailed {
                print("differential: \(name): not run after the failed start above, \(steps.count) steps counted as differing")
                continue
            }
            let scriptStart = Date()
            let session: Session
            do {
                session = try Session.start(etcd: etcd, swetcd: swetcd, etcdctl: etcdctl, script: name)
            } catch {
                print("differential: \(name): could not start the servers, \(steps.count) steps not run: \(error)")
                startFailed = true
                continue
            }
            defer { session.close() }
            var scriptIdentical = 0
            for (index, step) in steps.enumerated() {
                if Date() > deadline {
                    print("differential: \(name): time budget of \(Int(budget)) s used up, \(steps.count - index) steps not run (counted as differing)")
                    break
                }
                let (expected, actual) = try session.run(step, number: index)
                if verbose {
                    print("differential: \(step.location) $ etcdctl \(step.source)\n\(expected)")
                }
                transcript? += "$ etcdctl \(step.source)   # \(step.location)\n\(expected)\n"
                if expected == actual {
                    scriptIdentical += 1
                } else {
                    print("differential: DIFF \(step.location) $ etcdctl \(step.source)\n"
                        + Self.stdinPreview(step)
                        + "  (- etcd, + swetcd)\n" + LineDiff.unified(expected, actual))
                }
                if let dead = session.servers.first(where: { !$0.isRunning }) {
                    print("differential: \(name): \(dead.role) exited after step \(step.location); "
                        + "\(steps.count - index - 1) remaining steps not run (counted as differing); its log ends:\n"
                        + dead.logTail())
                    break
                }
            }
            identical += scriptIdentical
            print(String(format: "differential: %@ %d/%d steps identical (%.1f s)",
                         name, scriptIdentical, steps.count, Date().timeIntervalSince(scriptStart)))
        }

        if let path = env["DIFFTEST_TRANSCRIPT"], let transcript {
            try transcript.write(toFile: path, atomically: true, encoding: .utf8)
        }
        print(String(format: "differential: %d/%d steps identical (%.1f s)",
                     identical, total, Date().timeIntervalSince(start)))
        XCTAssertEqual(identical, total, "\(total - identical) of \(total) differential steps differ from etcd")
    }

    /// The first lines of a step's stdin, for the report of a differing step.
    static func stdinPreview(_ step: Step, lines: Int = 8) -> String {
        guard let stdin = step.stdin else { return "" }
        let all = String(decoding: stdin, as: UTF8.self).components(separatedBy: "\n")
        var shown = all.prefix(lines).map { line in
            "  | " + (line.count > 120 ? String(line.prefix(120)) + "… (\(line.count) chars)" : line)
        }
        if all.count > lines { shown.append("  | … (\(all.count - lines) more lines)") }
        return shown.joined(separator: "\n") + "\n"
    }
}

/// A fresh etcd and a fresh swetcd for one script, in a temp directory removed on close.
final class Session {
    let root: URL
    let servers: [ServerProcess]
    let etcdctl: URL
    let normalizers: [Normalizer]
    /// Background etcdctl processes of `&start` directives (Background.swift): name → one per server.
    var background: [String: BackgroundCommand] = [:]
    /// Values captured by `&let` (Background.swift): server role → variable → value.
    var variables: [String: [String: String]] = [:]
    /// Flags that keep every etcdctl invocation bounded in time.
    static let clientFlags = ["--dial-timeout=2s", "--command-timeout=5s"]
    static let stepTimeout: TimeInterval = 20

    private init(root: URL, servers: [ServerProcess], etcdctl: URL) {
        self.root = root
        self.servers = servers
        self.etcdctl = etcdctl
        self.normalizers = servers.map { Normalizer(clientPort: $0.clientPort) }
    }

    static func start(etcd: URL, swetcd: URL, etcdctl: URL, script: String) throws -> Session {
        try PortRetry.start(
            portCount: 4,
            make: { ports in
                let root = FileManager.default.temporaryDirectory
                    .appendingPathComponent("swetcd-difftest-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
                return Session(root: root, servers: [
                    ServerProcess(role: "etcd", binary: etcd, directory: root.appendingPathComponent("etcd"),
                                  clientPort: ports[0], peerPort: ports[1]),
                    ServerProcess(role: "swetcd", binary: swetcd, directory: root.appendingPathComponent("swetcd"),
                                  clientPort: ports[2], peerPort: ports[3]),
                ], etcdctl: etcdctl)
            },
            start: { try $0.waitUntilReady() }, logs: { $0.servers.map(\.log) }, close: { $0.close() })
    }

    private func waitUntilReady() throws {
        try ServerProcess.startAll(servers)
        let deadline = Date().addingTimeInterval(30)
        // Then the client's view: `endpoint health` must succeed (bounded retries).
        for server in servers {
            var healthy = false
            for _ in 0..<40 where Date() < deadline {
                let child = try Child(executable: etcdctl,
                                      arguments: ["--endpoints=\(server.clientURL)"] + Self.clientFlags + ["endpoint", "health"],
                                      environment: Binaries.cleanEnvironment(["ETCDCTL_API": "3"]),
                                      stdin: nil,
                                      stdoutURL: root.appendingPathComponent("health.out"),
                                      stderrURL: root.appendingPathComponent("health.err"))
                if child.finish(timeout: Self.stepTimeout).status == 0 { healthy = true; break }
                usleep(100_000)
            }
            if !healthy {
                throw ScriptError(description: "\(server.role) logged ready but `etcdctl endpoint health` fails:\n\(server.logTail())")
            }
        }
    }

    /// Runs one step against both servers at once; returns the normalised outputs (etcd, swetcd).
    func run(_ step: Step, number: Int) throws -> (String, String) {
        if let directive = step.directive { return try run(directive: directive, step, number: number) }
        let stepDir = root.appendingPathComponent("steps")
        try FileManager.default.createDirectory(at: stepDir, withIntermediateDirectories: true)
        var stdinURL: URL?
        if let stdin = step.stdin {
            let url = stepDir.appendingPathComponent("\(number).stdin")
            try stdin.write(to: url)
            stdinURL = url
        }
        let children = try servers.map { server in
            try Child(executable: etcdctl,
                      arguments: ["--endpoints=\(server.clientURL)"] + Self.clientFlags + substitute(step.arguments, for: server),
                      environment: Binaries.cleanEnvironment(["ETCDCTL_API": "3"]),
                      stdin: stdinURL,
                      stdoutURL: stepDir.appendingPathComponent("\(number).\(server.role).out"),
                      stderrURL: stepDir.appendingPathComponent("\(number).\(server.role).err"))
        }
        let outputs = children.map { $0.finish(timeout: Self.stepTimeout) }
        return (normalizers[0].render(outputs[0], step: step), normalizers[1].render(outputs[1], step: step))
    }

    func close() {
        stopBackground()
        for server in servers { server.stop() }
        try? FileManager.default.removeItem(at: root)
    }
}
