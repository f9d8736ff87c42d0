import Foundation
import HarnessSupport

/// Turns one step's raw output into the text that is compared.
///
/// Only what legitimately differs between two correct servers is rewritten; every rule says why.
/// Everything else — revisions, raft term and index, member and cluster IDs, hashes, error
/// messages, exit statuses — is compared byte for byte.
struct Normalizer: Sendable {
    /// The client port of the server this output came from.
    var clientPort: Int
    /// Lease IDs seen so far in this session's outputs (Background.swift).
    var leaseIDs = LeaseIDNames()

    func render(_ output: CommandOutput, step: Step) -> String {
        let command = Self.command(of: step.arguments)
        var stdout = Self.decode(output.stdout)
        var stderr = Self.decode(output.stderr)

        // Rule 1 — the endpoint. The two servers necessarily listen on different free ports, and
        // etcdctl echoes the endpoint (status/health/hashkv ENDPOINT, member list client URLs, the
        // gRPC target in its own warning lines). Exact replacement of the one known address.
        let address = "127.0.0.1:\(clientPort)"
        stdout = stdout.replacingOccurrences(of: address, with: "127.0.0.1:<CLIENT-PORT>")
        stderr = stderr.replacingOccurrences(of: address, with: "127.0.0.1:<CLIENT-PORT>")
        (stdout, stderr) = (leaseIDs.normalize(stdout), leaseIDs.normalize(stderr))

        // Rule 2 — etcdctl's own client-side log lines (zap JSON on stderr, e.g. "retrying of
        // unary invoker failed" before an error) carry the wall-clock time and a random client
        // UUID in the gRPC target. Only lines that are such log records are touched.
        stderr = Self.mapLines(stderr) { line in
            guard line.hasPrefix("{\"level\":") else { return line }
            var line = line.replacing(Self.timestamp, with: "\"ts\":\"<TS>\"")
            line = line.replacing(Self.clientUUID, with: "endpoint://client-<UUID>/")
            return line
        }

        switch command {
        case ["endpoint", "health"]:
            // Rule 3 — `endpoint health` reports how long the health proposal took.
            stdout = Self.normalizeHealth(stdout)
            stderr = Self.normalizeHealth(stderr)
        case ["endpoint", "status"]:
            // Rule 4 — `endpoint status` reports the server's version (etcd 3.4.23 vs swetcd's
            // own) and its backend file size (bbolt pages vs SQLite pages).
            stdout = Self.normalizeStatus(stdout)
        default:
            break
        }

        var text = "exit status: \(output.timedOut ? "TIMED OUT (killed)" : String(output.status))\n"
        text += "--- stdout\n" + stdout
        if !stdout.isEmpty && !stdout.hasSuffix("\n") { text += "\n\\ no newline at end of stdout\n" }
        text += "--- stderr\n" + stderr
        if !stderr.isEmpty && !stderr.hasSuffix("\n") { text += "\n\\ no newline at end of stderr\n" }
        return text
    }

    // MARK: - rules

    nonisolated(unsafe) static let timestamp = try! Regex(#""ts":"[^"]*""#)
    nonisolated(unsafe) static let clientUUID = try! Regex(#"endpoint://client-[0-9a-f-]{36}/"#)

    nonisolated(unsafe) static let healthTookSimple = try! Regex(#"took = \S+"#)
    nonisolated(unsafe) static let healthTookJSON = try! Regex(#""took":"[^"]*""#)
    nonisolated(unsafe) static let healthTookFields = try! Regex(#"(?m)^"Took" : \S+$"#)

    static func normalizeHealth(_ text: String) -> String {
        var text = text
        text = text.replacing(healthTookSimple, with: "took = <DURATION>")   // simple (stderr)
        text = text.replacing(healthTookJSON, with: "\"took\":\"<DURATION>\"")  // json
        text = text.replacing(healthTookFields, with: "\"Took\" : <DURATION>")  // fields
        return normalizeTableColumns(text, ["TOOK"])                            // table
    }

    nonisolated(unsafe) static let statusVersionJSON = try! Regex(#""version":"[^"]*""#)
    nonisolated(unsafe) static let statusDBSizeJSON = try! Regex(#""dbSize":[0-9]+"#)
    nonisolated(unsafe) static let statusDBSizeInUseJSON = try! Regex(#""dbSizeInUse":[0-9]+"#)
    nonisolated(unsafe) static let statusVersionFields = try! Regex(#"(?m)^"Version" : "[^"]*"$"#)
    nonisolated(unsafe) static let statusDBSizeFields = try! Regex(#"(?m)^"DBSize" : [0-9]+$"#)

    static func normalizeStatus(_ text: String) -> String {
        var text = text
        // json
        text = text.replacing(statusVersionJSON, with: "\"version\":\"<VERSION>\"")
        text = text.replacing(statusDBSizeJSON, with: "\"dbSize\":<DB-SIZE>")
        text = text.replacing(statusDBSizeInUseJSON, with: "\"dbSizeInUse\":<DB-SIZE-IN-USE>")
        // fields
        text = text.replacing(statusVersionFields, with: "\"Version\" : \"<VERSION>\"")
        text = text.replacing(statusDBSizeFields, with: "\"DBSize\" : <DB-SIZE>")
        // simple: "ENDPOINT, ID, VERSION, DB SIZE, IS LEADER, IS LEARNER, RAFT TERM, ..."
        text = mapLines(text) { line in
            guard line.hasPrefix("http"), line.contains(", ") else { return line }
            var columns = line.components(separatedBy: ", ")
            guard columns.count >= 9 else { return line }
            columns[2] = "<VERSION>"
            columns[3] = "<DB-SIZE>"
            return columns.joined(separator: ", ")
        }
        // table
        return normalizeTableColumns(text, ["VERSION", "DB SIZE"])
    }

    /// In an etcdctl (tablewriter) table, replaces the named columns — header, cells and their
    /// segments of the border lines — by a placeholder. A column's width follows from its
    /// contents, so other columns keep their exact text, padding included.
    static func normalizeTableColumns(_ text: String, _ names: Set<String>) -> String {
        let lines = text.components(separatedBy: "\n")
        guard let header = lines.first(where: { $0.hasPrefix("|") }) else { return text }
        let headerCells = header.components(separatedBy: "|")
        let indices = Set(headerCells.indices.filter {
            names.contains(headerCells[$0].trimmingCharacters(in: .whitespaces))
        })
        guard !indices.isEmpty else { return text }
        return lines.map { line -> String in
            let separator: String
            if line.hasPrefix("+") { separator = "+" } else if line.hasPrefix("|") { separator = "|" } else { return line }
            var cells = line.components(separatedBy: separator)
            guard cells.count == headerCells.count else { return line }
            for index in indices { cells[index] = "<NORMALISED>" }
            return cells.joined(separator: separator)
        }.joined(separator: "\n")
    }

    // MARK: - helpers

    static func mapLines(_ text: String, _ transform: (String) -> String) -> String {
        text.components(separatedBy: "\n").map(transform).joined(separator: "\n")
    }

    /// The subcommand words (`["endpoint", "status"]`, `["get"]`) of an etcdctl command line.
    static func command(of arguments: [String]) -> [String] {
        var words: [String] = []
        var skipNext = false
        // Global flags that take a separate value (`-w json`); subcommand flags come after the
        // command words, so this only needs to be right for what precedes them.
        let valueFlags: Set<String> = ["-w", "--write-out", "--endpoints", "--dial-timeout",
                                       "--command-timeout", "--user", "--password", "--cacert",
                                       "--cert", "--key", "-d", "--discovery-srv"]
        for argument in arguments {
            if skipNext { skipNext = false; continue }
            if argument.hasPrefix("-") {
                if valueFlags.contains(argument) { skipNext = true }
                continue
            }
            words.append(argument)
            if words.count == 2 { break }
        }
        if words.first == "endpoint" || words.first == "member" { return words }
        return Array(words.prefix(1))
    }

    /// Output bytes as text, losslessly: UTF-8 if valid, else Latin-1 (one character per byte)
    /// behind a marker line, so different bytes never compare equal.
    static func decode(_ data: Data) -> String {
        if let text = String(data: data, encoding: .utf8) { return text }
        return "<not UTF-8, shown as Latin-1>\n" + (String(data: data, encoding: .isoLatin1) ?? "")
    }
}
