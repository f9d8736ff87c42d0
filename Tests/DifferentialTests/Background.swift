import Foundation
import HarnessSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Harness directives for long-running etcdctl commands (watch, lock, elect, lease keep-alive)
// and for values that legitimately differ between the two servers (lease IDs).
//
// A script line starting with `&` is a directive. Each runs against both servers at once and
// is one compared step (its rendering must be identical for etcd and swetcd):
//
//   &start NAME ARGS... [<<EOF]  starts `etcdctl ARGS...` in the background against each server
//                                and waits until it is connected (then a short settle time); a
//                                heredoc becomes its stdin through a FIFO that stays open
//                                (for `watch -i`), so it never sees EOF until stopped.
//   &send NAME <<EOF             writes more stdin lines to NAME (then the settle time).
//   &wait NAME TEXT              waits (bounded) until NAME's stdout contains TEXT.
//   &stop NAME [TEXT]            optionally waits for TEXT, lets NAME run a short grace time
//                                (so that anything extra it would print is caught), sends
//                                SIGINT (etcdctl's Ctrl-C: lock unlocks, elect resigns), and
//                                compares its whole exit status, stdout and stderr.
//   &kill NAME                   the same with SIGKILL at once (a crashed client: no unlock).
//   &sleep SECONDS               waits (for lease expiry).
//   &let VAR ARGS...             runs `etcdctl ARGS...` as a normal step and captures, per
//                                server, the first 16-hex-digit word of its stdout (a lease ID);
//                                `${VAR}` in later steps' arguments is replaced by that server's
//                                value.
//
// Lease IDs are the only IDs that differ between the two servers: both generate them like etcd
// (member ID's low 16 bits `694d` on top, then the start time in ms and a counter), so they
// differ by the start time. `LeaseIDNames` rewrites each distinct lease ID, in hex (`lease
// 694d… granted`, lock/election keys `name/694d…`) or decimal (etcdctl's JSON), to
// `<LEASE-n>`, numbered in order of first appearance in the session, so the same lease keeps
// the same name and different leases stay different.

/// One `&start`ed command: a child per server (etcd, swetcd) and their stdin FIFOs, if any.
final class BackgroundCommand {
    let step: Step
    let number: Int
    let children: [Child]
    /// Write ends of the stdin FIFOs (one per server), held open so the child never sees EOF.
    var stdinDescriptors: [Int32]

    init(step: Step, number: Int, children: [Child], stdinDescriptors: [Int32]) {
        self.step = step
        self.number = number
        self.children = children
        self.stdinDescriptors = stdinDescriptors
    }

    func closeStdin() {
        for fd in stdinDescriptors { close(fd) }
        stdinDescriptors = []
    }
}

/// Lease IDs → `<LEASE-n>`, in order of first appearance (one instance per server per session).
final class LeaseIDNames: Sendable {
    /// Every lease ID of a member starts with the low 16 bits of its member ID; both servers
    /// run as etcd's default member 8e9e05c52164694d.
    static let prefix: UInt64 = 0x694d
    private let names = Mutex<[UInt64: Int]>([:])

    init() {}

    static func isLeaseID(_ value: UInt64) -> Bool { value >> 48 == prefix }

    /// Replaces every word (maximal run of ASCII letters and digits) that is a lease ID: 16
    /// lowercase hex digits, or 19 decimal digits, whose value starts with the prefix.
    func normalize(_ text: String) -> String {
        guard text.contains("694d") || text.contains(where: \.isNumber) else { return text }
        var out = String.UnicodeScalarView()
        var word = String.UnicodeScalarView()
        func flush() {
            defer { word.removeAll() }
            let string = String(word)
            var value: UInt64?
            if word.count == 16, string.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
                value = UInt64(string, radix: 16)
            } else if word.count == 19, string.allSatisfy(\.isASCII), string.allSatisfy(\.isNumber) {
                value = UInt64(string)
            }
            guard let value, Self.isLeaseID(value) else {
                out.append(contentsOf: word)
                return
            }
            let n = names.withLock { names in
                if let n = names[value] { return n }
                names[value] = names.count + 1
                return names.count
            }
            out.append(contentsOf: "<LEASE-\(n)>".unicodeScalars)
        }
        for scalar in text.unicodeScalars {
            if scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar)) {
                word.append(scalar)
            } else {
                flush()
                out.append(scalar)
            }
        }
        flush()
        return String(out)
    }
}

extension Session {
    /// How long `&wait` and `&stop TEXT` wait for the text at most.
    static let backgroundWait: TimeInterval = 15
    /// After a background command connected (or got more stdin): time for its request to reach
    /// the server before the next step writes.
    static let settleTime: TimeInterval = 0.4
    /// Before `&stop`: time to catch output that should not come.
    static let stopGrace: TimeInterval = 0.3

    /// `${VAR}` in `arguments` replaced by `server`'s value of `&let VAR`.
    func substitute(_ arguments: [String], for server: ServerProcess) -> [String] {
        guard let values = variables[server.role], !values.isEmpty else { return arguments }
        return arguments.map { argument in
            var argument = argument
            for (name, value) in values { argument = argument.replacingOccurrences(of: "${\(name)}", with: value) }
            return argument
        }
    }

    func run(directive: String, _ step: Step, number: Int) throws -> (String, String) {
        let began = Date()
        defer { if ProcessInfo.processInfo.environment["DIFFTEST_TIMING"] == "1" { print(String(format: "timing: %@ %.2f s", step.source, Date().timeIntervalSince(began))) } }
        let stepDir = root.appendingPathComponent("steps")
        try FileManager.default.createDirectory(at: stepDir, withIntermediateDirectories: true)
        func same(_ text: String) -> (String, String) { (text, text) }
        func pair(_ texts: [String]) -> (String, String) { (texts[0], texts[1]) }
        let arguments = step.arguments

        switch directive {
        case "start":
            guard arguments.count >= 2 else { throw ScriptError(description: "\(step.location): &start NAME ARGS...") }
            let name = arguments[0]
            if let old = background.removeValue(forKey: name) { stop(old, signal: SIGKILL) }
            var descriptors: [Int32] = []
            var children: [Child] = []
            for server in servers {
                var stdinURL: URL?
                if let stdin = step.stdin {
                    let url = stepDir.appendingPathComponent("bg-\(number).\(server.role).fifo")
                    guard mkfifo(url.path, 0o600) == 0 else { throw ScriptError(description: "mkfifo failed: errno \(errno)") }
                    // Read-write: never blocks, and keeps a writer so the reader never sees EOF.
                    let fd = open(url.path, O_RDWR)
                    guard fd >= 0 else { throw ScriptError(description: "cannot open FIFO: errno \(errno)") }
                    descriptors.append(fd)
                    try Self.writeAll(stdin, to: fd)
                    stdinURL = url
                }
                children.append(try Child(
                    executable: etcdctl,
                    arguments: ["--endpoints=\(server.clientURL)"] + Self.clientFlags
                        + substitute(Array(arguments.dropFirst()), for: server),
                    environment: Binaries.cleanEnvironment(["ETCDCTL_API": "3"]),
                    stdin: stdinURL,
                    stdoutURL: stepDir.appendingPathComponent("bg-\(number).\(server.role).out"),
                    stderrURL: stepDir.appendingPathComponent("bg-\(number).\(server.role).err")))
            }
            var inner = step
            inner.arguments = Array(arguments.dropFirst())
            inner.directive = nil
            let command = BackgroundCommand(step: inner, number: number, children: children, stdinDescriptors: descriptors)
            background[name] = command
            // Connected (or already gone), then the settle time for its first requests.
            let deadline = Date().addingTimeInterval(Self.backgroundWait)
            for (child, server) in zip(children, servers) {
                while Date() < deadline && !child.hasExited
                    && !Self.hasConnection(pid: child.pid, toPort: server.clientPort)
                {
                    usleep(10_000)
                }
            }
            Thread.sleep(forTimeInterval: Self.settleTime)
            // Whether it is still running is timing; its exit status and output are compared
            // by `&stop`/`&kill`.
            return same("started \(name)\n")

        case "send":
            let command = try backgroundCommand(step)
            guard let stdin = step.stdin, !command.stdinDescriptors.isEmpty else {
                throw ScriptError(description: "\(step.location): &send needs a heredoc and a command started with one")
            }
            for fd in command.stdinDescriptors { try Self.writeAll(stdin, to: fd) }
            Thread.sleep(forTimeInterval: Self.settleTime)
            return same("sent \(stdin.count) bytes to \(arguments[0])\n")

        case "wait":
            guard arguments.count == 2 else { throw ScriptError(description: "\(step.location): &wait NAME TEXT") }
            let command = try backgroundCommand(step)
            return pair(waitFor(arguments[1], in: command))

        case "stop", "kill":
            guard arguments.count == 1 || (directive == "stop" && arguments.count == 2) else {
                throw ScriptError(description: "\(step.location): &stop NAME [TEXT] / &kill NAME")
            }
            let command = try backgroundCommand(step)
            background.removeValue(forKey: arguments[0])
            var waited = ["", ""]
            if arguments.count == 2 { waited = waitFor(arguments[1], in: command) }
            if directive == "stop" { Thread.sleep(forTimeInterval: Self.stopGrace) }
            let outputs = stop(command, signal: directive == "stop" ? SIGINT : SIGKILL)
            return pair(outputs.indices.map { index in
                waited[index] + normalizers[index].render(outputs[index], step: command.step)
            })

        case "sleep":
            guard arguments.count == 1, let seconds = TimeInterval(arguments[0]), seconds >= 0, seconds <= 30 else {
                throw ScriptError(description: "\(step.location): &sleep SECONDS (at most 30)")
            }
            Thread.sleep(forTimeInterval: seconds)
            return same("slept \(arguments[0]) s\n")

        case "let":
            guard arguments.count >= 2 else { throw ScriptError(description: "\(step.location): &let VAR ARGS...") }
            var inner = step
            inner.arguments = Array(arguments.dropFirst())
            inner.directive = nil
            let result = try run(inner, number: number)
            for server in servers {
                let data = (try? Data(contentsOf: stepDir.appendingPathComponent("\(number).\(server.role).out"))) ?? Data()
                let words = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
                if let id = words.first(where: { $0.count == 16 && $0.allSatisfy(\.isHexDigit) }) {
                    variables[server.role, default: [:]][arguments[0]] = String(id)
                }
            }
            return result

        default:
            throw ScriptError(description: "\(step.location): unknown directive &\(directive)")
        }
    }

    /// Stops every background command (end of a script).
    func stopBackground() {
        for command in background.values { stop(command, signal: SIGKILL) }
        background.removeAll()
    }

    private func backgroundCommand(_ step: Step) throws -> BackgroundCommand {
        guard let name = step.arguments.first, let command = background[name] else {
            throw ScriptError(description: "\(step.location): no background command \(step.arguments.first ?? "")")
        }
        return command
    }

    /// Waits until each child's stdout contains `text` (bounded); one line per server saying so.
    private func waitFor(_ text: String, in command: BackgroundCommand) -> [String] {
        let deadline = Date().addingTimeInterval(Self.backgroundWait)
        return command.children.map { child in
            while true {
                let data = (try? Data(contentsOf: child.stdoutURL)) ?? Data()
                if String(decoding: data, as: UTF8.self).contains(text) {
                    return "saw \"\(text)\"\n"
                }
                if Date() > deadline || child.hasExited {
                    return "did not see \"\(text)\" (\(child.hasExited ? "it exited" : "waited \(Int(Self.backgroundWait)) s"))\n"
                }
                usleep(20_000)
            }
        }
    }

    /// Signals every child of `command` and collects its output (SIGKILL after 5 s).
    @discardableResult
    private func stop(_ command: BackgroundCommand, signal: Int32) -> [CommandOutput] {
        for child in command.children where !child.hasExited { kill(child.pid, signal) }
        let outputs = command.children.map { $0.finish(timeout: 5) }
        command.closeStdin()
        return outputs
    }

    private static func writeAll(_ data: Data, to fd: Int32) throws {
        try data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                guard written > 0 else { throw ScriptError(description: "write to FIFO failed: errno \(errno)") }
                offset += written
            }
        }
    }

    /// Whether process `pid` has an established TCP connection to 127.0.0.1:`port` (Linux
    /// /proc; elsewhere: true after a second).
    static func hasConnection(pid: Int32, toPort port: Int) -> Bool {
        let fdDirectory = "/proc/\(pid)/fd"
        guard FileManager.default.fileExists(atPath: "/proc/net/tcp") else {
            Thread.sleep(forTimeInterval: 1)
            return true
        }
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: fdDirectory) else { return false }
        var inodes = Set<Substring>()
        for fd in fds {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
                target.hasPrefix("socket:[")
            {
                inodes.insert(Substring(target.dropFirst(8).dropLast()))
            }
        }
        // Read to EOF: procfs files report size 0, and a size-based read stops after one page.
        guard !inodes.isEmpty, let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return false }
        defer { try? handle.close() }
        guard let data = try? handle.readToEnd() else { return false }
        let table = String(decoding: data, as: UTF8.self)
        let remote = ":" + String(format: "%04X", port)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            guard fields.count > 9, fields[2].hasSuffix(remote), fields[3] == "01" else { continue }
            if inodes.contains(fields[9]) { return true }
        }
        return false
    }
}
