import Foundation
import HarnessSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The JSON gateway differential test: the same `curl -X POST .../v3/...` requests to a fresh
/// real etcd and a fresh swetcd; the HTTP status line, the client-visible headers and the body
/// must be identical after normalising what is member-local (lease IDs the server chose, the
/// client port, the server version, db sizes). Headers compared: `Content-Type`, the CORS
/// headers and `Grpc-Metadata-Content-Type`; not compared: `Date`, and transport framing that
/// no JSON client sees (`Content-Length`/`Transfer-Encoding`/`Connection`, grpc-gateway's
/// `Trailer` and `Grpc-Trailer-*` after errors). Streamed calls
/// (`/v3/watch`, `/v3/election/observe`) run in the background while other requests write,
/// and their streamed lines are compared once both have shown the expected last line.
final class GatewayDifferentialTests: XCTestCase {
    func testGatewayMatchesEtcd() throws {
        let curl = try Binaries.fromPath("curl", override: "CURL_BIN")
        let pair = try ServerPair.start("gatewaydiff")
        defer { pair.close() }
        let start = Date()
        let session = GatewaySession(pair: pair, curl: curl)
        defer { session.stopStreams() }
        try session.run()
        print(String(format: "gateway differential: %d/%d requests identical (%.1f s)",
                     session.identical, session.total, Date().timeIntervalSince(start)))
        XCTAssertGreaterThan(session.total, 50)
        XCTAssertEqual(session.identical, session.total, "\(session.total - session.identical) of \(session.total) gateway requests differ from etcd")
    }
}

private final class GatewaySession {
    let pair: ServerPair
    let curl: URL
    let directory: URL
    var identical = 0
    var total = 0
    private var number = 0
    /// Background curls of streamed calls: name → one per server.
    private var streams: [String: [Child]] = [:]

    init(pair: ServerPair, curl: URL) {
        self.pair = pair
        self.curl = curl
        directory = pair.root.appendingPathComponent("curl")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    // MARK: Requests

    func run() throws {
        // KV
        try post("kv/put", #"{"key":"\#(b64("foo"))","value":"\#(b64("bar"))"}"#)
        try post("kv/put", #"{"key":"\#(b64("foo"))","value":"\#(b64("baz"))","prev_kv":true}"#)
        try post("kv/put", #"{"key":"\#(b64("foo/a"))","value":"\#(b64("1"))"}"#)
        try post("kv/put", #"{"key":"\#(b64("foo/b"))","value":"\#(b64("2"))"}"#)
        try post("kv/range", #"{"key":"\#(b64("foo"))"}"#)
        try post("kv/range", #"{"key":"\#(b64("foo/"))","range_end":"\#(b64("foo0"))"}"#)
        try post("kv/range", #"{"key":"AA==","range_end":"AA==","count_only":true}"#)
        try post("kv/range", #"{"key":"AA==","range_end":"AA==","keys_only":true,"limit":"2","sort_order":"DESCEND"}"#)
        try post("kv/range", #"{"key":"AA==","range_end":"AA==","sort_order":1,"sort_target":"MOD","revision":"4"}"#)
        try post("kv/range", #"{"key":"\#(b64("nope"))"}"#)
        try post("kv/range", "{}")
        try post("kv/range", #"{"key":"\#(b64("foo"))","revision":"1000"}"#)
        try post("kv/range", #"{"key":"\#(b64("foo"))","unknown_field":1}"#)
        try post("kv/put", #"{"key":"","value":"\#(b64("x"))"}"#)
        try post("kv/put", #"{"key":"\#(b64("foo"))","value":"\#(b64("x"))","ignore_value":true}"#)
        try post("kv/put", #"{"key":"\#(b64("foo"))","lease":"12345"}"#)
        try post("kv/txn", #"""
            {"compare":[{"key":"\#(b64("foo"))","result":"EQUAL","target":"VALUE","value":"\#(b64("baz"))"}],
             "success":[{"request_put":{"key":"\#(b64("t"))","value":"\#(b64("yes"))"}},{"request_range":{"key":"\#(b64("foo/"))","range_end":"\#(b64("foo0"))"}}],
             "failure":[{"request_put":{"key":"\#(b64("t"))","value":"\#(b64("no"))"}}]}
            """#)
        try post("kv/txn", #"""
            {"compare":[{"key":"\#(b64("foo"))","result":"GREATER","target":"VERSION","version":"5"}],
             "success":[{"request_delete_range":{"key":"\#(b64("t"))"}}],
             "failure":[{"request_range":{"key":"\#(b64("t"))"}},{"request_txn":{"success":[{"request_range":{"key":"\#(b64("foo"))"}}]}}]}
            """#)
        try post("kv/txn", #"{"success":[{"request_put":{"key":"\#(b64("d"))"}},{"request_put":{"key":"\#(b64("d"))"}}]}"#)
        try post("kv/deleterange", #"{"key":"\#(b64("foo/"))","range_end":"\#(b64("foo0"))","prev_kv":true}"#)
        try post("kv/deleterange", #"{"key":"\#(b64("nope"))"}"#)
        try post("kv/compaction", #"{"revision":"3"}"#)
        try post("kv/compaction", #"{"revision":"2"}"#)
        try post("kv/compaction", #"{"revision":"1000","physical":true}"#)
        try post("kv/range", #"{"key":"\#(b64("foo"))","revision":"2"}"#)
        // Malformed requests.
        try post("kv/range", "xx")
        try post("kv/range", "")
        try request("GET", "kv/range", nil)
        try request("PUT", "kv/put", "{}")
        try post("kv/nosuchmethod", "{}")
        try request("GET", "nosuchpath", nil, prefix: "/")

        // Leases (client-chosen IDs; one server-chosen, its ID normalised).
        try post("lease/grant", #"{"TTL":"100","ID":"4660"}"#)
        try post("lease/grant", #"{"TTL":"100","ID":"4660"}"#)
        try post("lease/grant", #"{"TTL":"9000000001"}"#)
        try post("lease/grant", #"{"TTL":"1","ID":"4661"}"#)
        try post("lease/grant", #"{"TTL":"60"}"#)
        try post("kv/put", #"{"key":"\#(b64("l/1"))","value":"\#(b64("v"))","lease":"4660"}"#)
        try post("lease/timetolive", #"{"ID":"4660","keys":true}"#)
        try post("kv/lease/timetolive", #"{"ID":"4660"}"#)
        try post("lease/timetolive", #"{"ID":"999"}"#)
        try post("lease/leases", "{}")
        try post("kv/lease/leases", "{}")
        try post("lease/keepalive", #"{"ID":"4660"}"#)
        try post("lease/keepalive", #"{"ID":"4660"}{"ID":"999"}"#)
        try post("lease/revoke", #"{"ID":"4661"}"#)
        try post("kv/lease/revoke", #"{"ID":"4660"}"#)
        try post("lease/revoke", #"{"ID":"4660"}"#)
        try post("kv/range", #"{"key":"\#(b64("l/1"))"}"#)

        // A streamed watch: created, then the events of writes made by other requests.
        try startStream("w1", "watch", #"{"create_request":{"key":"\#(b64("w/"))","range_end":"\#(b64("w0"))","prev_kv":true}}"#,
                        waitFor: #""created":true"#)
        // (after its catch-up: etcd answers a catch-up with the revision current when it runs)
        try startStream("w2", "watch", #"{"create_request":{"key":"\#(b64("foo"))","start_revision":"3"}}"#,
                        waitFor: b64("baz"))
        try post("kv/put", #"{"key":"\#(b64("w/a"))","value":"\#(b64("1"))"}"#)
        try post("kv/put", #"{"key":"\#(b64("w/a"))","value":"\#(b64("2"))"}"#)
        try post("kv/deleterange", #"{"key":"\#(b64("w/a"))"}"#)
        try post("kv/put", #"{"key":"\#(b64("foo"))","value":"\#(b64("last"))"}"#)
        try stopStream("w1", waitFor: #""type":"DELETE""#)
        try stopStream("w2", waitFor: b64("last"))
        try startStream("w3", "watch", #"{"create_request":{"key":"\#(b64("foo"))","start_revision":"2"}}"#,
                        waitFor: "compact_revision")
        try stopStream("w3", waitFor: "compact_revision")

        // Lock and election.
        try post("lease/grant", #"{"TTL":"100","ID":"8192"}"#)
        try post("lock/lock", #"{"name":"\#(b64("mylock"))","lease":"8192"}"#)
        try post("kv/range", #"{"key":"\#(b64("mylock/"))","range_end":"\#(b64("mylock0"))"}"#)
        try post("lock/unlock", #"{"key":"\#(b64("mylock/2000"))"}"#)
        try post("lock/lock", #"{"name":"\#(b64("mylock"))","lease":"1"}"#)
        try post("election/leader", #"{"name":"\#(b64("el"))"}"#)
        try startStream("o1", "election/observe", #"{"name":"\#(b64("el"))"}"#, waitFor: nil)
        try post("election/campaign", #"{"name":"\#(b64("el"))","lease":"8192","value":"\#(b64("v1"))"}"#)
        try post("election/leader", #"{"name":"\#(b64("el"))"}"#)
        try post("election/proclaim", #"{"leader":{"name":"\#(b64("el"))","key":"\#(b64("el/2000"))","rev":"\#(revision(of: "el/2000"))","lease":"8192"},"value":"\#(b64("v2"))"}"#)
        try post("election/proclaim", #"{"leader":{"name":"\#(b64("el"))","key":"\#(b64("el/2000"))","rev":"1","lease":"8192"},"value":"\#(b64("v3"))"}"#)
        try post("election/leader", #"{"name":"\#(b64("el"))"}"#)
        try stopStream("o1", waitFor: b64("v2"))
        try post("election/resign", #"{"leader":{"name":"\#(b64("el"))","key":"\#(b64("el/2000"))","rev":"\#(revision(of: "el/2000"))","lease":"8192"}}"#)
        try post("election/leader", #"{"name":"\#(b64("el"))"}"#)
        try post("lease/revoke", #"{"ID":"8192"}"#)

        // Cluster and maintenance.
        try post("cluster/member/list", "{}")
        try post("maintenance/status", "{}")

        // Auth, last: the token travels in the Authorization header.
        try post("auth/user/add", #"{"name":"root","password":"rootpw"}"#)
        try post("auth/user/grant", #"{"user":"root","role":"root"}"#)
        try post("auth/role/add", #"{"name":"app"}"#)
        try post("auth/role/grant", #"{"name":"app","perm":{"permType":"READWRITE","key":"\#(b64("a/"))","range_end":"\#(b64("a0"))"}}"#)
        try post("auth/user/add", #"{"name":"alice","password":"apw"}"#)
        try post("auth/user/grant", #"{"user":"alice","role":"app"}"#)
        try post("auth/role/get", #"{"role":"app"}"#)
        try post("auth/user/get", #"{"name":"alice"}"#)
        try post("auth/user/list", "{}")
        try post("auth/enable", "{}")
        try post("kv/range", #"{"key":"\#(b64("a/x"))"}"#)
        try post("auth/authenticate", #"{"name":"alice","password":"wrong"}"#)
        try post("auth/authenticate", #"{"name":"alice","password":"apw"}"#, keepsToken: true)
        try post("kv/put", #"{"key":"\#(b64("a/x"))","value":"\#(b64("1"))"}"#, token: .kept)
        try post("kv/put", #"{"key":"\#(b64("b"))","value":"\#(b64("1"))"}"#, token: .kept)
        try post("kv/range", #"{"key":"\#(b64("a/x"))"}"#, token: .kept)
        try post("auth/user/list", "{}", token: .kept)
        try post("kv/range", #"{"key":"\#(b64("a/x"))"}"#, token: .given("forged.1"))
        try post("auth/authenticate", #"{"name":"root","password":"rootpw"}"#, keepsToken: true)
        try post("auth/disable", "{}", token: .kept)
        try post("kv/range", #"{"key":"\#(b64("a/x"))"}"#)
    }

    /// The token a request carries: the one each server issued last, or a given one.
    enum Token {
        case kept
        case given(String)
    }

    /// The token each server issued last, by server role.
    private var tokens: [String: String] = [:]

    // MARK: Running curl against both servers

    private func curlArguments(_ method: String, _ url: String, _ body: String?, headers: URL, output: URL, maxTime: Int) -> [String] {
        var arguments = ["-s", "-S", "--max-time", "\(maxTime)", "-X", method, url, "-D", headers.path, "-o", output.path]
        if let body { arguments += ["--data-binary", body] }
        return arguments
    }

    private func post(_ path: String, _ body: String, token: Token? = nil, keepsToken: Bool = false) throws {
        try request("POST", path, body, normalizeVersion: path == "maintenance/status", token: token)
        guard keepsToken else { return }
        for server in pair.servers {
            let text = String(decoding: (try? Data(contentsOf: file(server, "b"))) ?? Data(), as: UTF8.self)
            guard let start = text.range(of: #""token":""#) else { continue }
            tokens[server.role] = String(text[start.upperBound...].prefix { $0 != "\"" })
        }
    }

    private func request(_ method: String, _ path: String, _ body: String?, prefix: String = "/v3/",
                         normalizeVersion: Bool = false, token: Token? = nil) throws {
        number += 1
        let label = "#\(number) \(method) \(prefix)\(path) \(body ?? "")"
        let children = try pair.servers.map { server in
            var authorization: [String] = []
            switch token {
            case .kept: authorization = ["-H", "Authorization: \(tokens[server.role] ?? "")"]
            case .given(let value): authorization = ["-H", "Authorization: \(value)"]
            case nil: break
            }
            return try Child(executable: curl,
                      arguments: curlArguments(method, "\(server.clientURL)\(prefix)\(path)", body,
                                               headers: file(server, "h"), output: file(server, "b"), maxTime: 10) + authorization,
                      environment: Binaries.cleanEnvironment(), stdin: nil,
                      stdoutURL: file(server, "out"), stderrURL: file(server, "err"))
        }
        let rendered = zip(children, pair.servers).map { child, server -> String in
            let result = child.finish(timeout: 15)
            return render(server: server, status: result.status, normalizeVersion: normalizeVersion)
        }
        compare(label, rendered[0], rendered[1])
    }

    private func startStream(_ name: String, _ path: String, _ body: String, waitFor text: String?) throws {
        number += 1
        streams[name] = try pair.servers.map { server in
            try Child(executable: curl,
                      arguments: ["-N"] + curlArguments("POST", "\(server.clientURL)/v3/\(path)", body,
                                                        headers: file(server, "h"), output: file(server, "b"), maxTime: 30),
                      environment: Binaries.cleanEnvironment(), stdin: nil,
                      stdoutURL: file(server, "out"), stderrURL: file(server, "err"))
        }
        streamFiles[name] = number
        if let text {
            for server in pair.servers { waitUntil(file(server, "b"), contains: text) }
        } else {
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    private var streamFiles: [String: Int] = [:]

    private func stopStream(_ name: String, waitFor text: String) throws {
        guard let children = streams.removeValue(forKey: name), let streamNumber = streamFiles[name] else { return }
        let saved = number
        number = streamNumber
        defer { number = saved }
        for server in pair.servers { waitUntil(file(server, "b"), contains: text) }
        Thread.sleep(forTimeInterval: 0.3)
        for child in children { child.stop(grace: 2) }
        let rendered = pair.servers.map { render(server: $0, status: 0, normalizeVersion: false, streamed: true) }
        compare("stream \(name)", rendered[0], rendered[1])
    }

    func stopStreams() {
        for children in streams.values { children.forEach { $0.stop(grace: 1) } }
        streams.removeAll()
    }

    private func waitUntil(_ url: URL, contains text: String, timeout: TimeInterval = 10) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let data = try? Data(contentsOf: url), String(decoding: data, as: UTF8.self).contains(text) { return }
            usleep(20_000)
        }
    }

    /// A key's create revision on etcd and on swetcd (the same on both when they agree; each
    /// server's own value is used for its request).
    private func revision(of key: String) -> String {
        // Both servers got identical writes so far; read it from etcd.
        let url = directory.appendingPathComponent("rev.out")
        let child = try? Child(executable: curl,
                               arguments: ["-s", "-X", "POST", "\(pair.etcd.clientURL)/v3/kv/range", "-d", #"{"key":"\#(b64(key))"}"#],
                               environment: Binaries.cleanEnvironment(), stdin: nil,
                               stdoutURL: url, stderrURL: directory.appendingPathComponent("rev.err"))
        _ = child?.finish(timeout: 10)
        let text = String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self)
        guard let range = text.range(of: #""create_revision":""#) else { return "0" }
        return String(text[range.upperBound...].prefix { $0.isNumber })
    }

    private func file(_ server: ServerProcess, _ kind: String) -> URL {
        directory.appendingPathComponent("\(number).\(server.role).\(kind)")
    }

    // MARK: Rendering and comparing

    static let ignoredHeaders: Set<String> = [
        "date", "content-length", "transfer-encoding", "connection", "trailer", "grpc-trailer-content-type",
    ]

    private func render(server: ServerProcess, status: Int32, normalizeVersion: Bool, streamed: Bool = false) -> String {
        let headerText = String(decoding: (try? Data(contentsOf: file(server, "h"))) ?? Data(), as: UTF8.self)
        var body = String(decoding: (try? Data(contentsOf: file(server, "b"))) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: (try? Data(contentsOf: file(server, "err"))) ?? Data(), as: UTF8.self)
        var lines = headerText.replacingOccurrences(of: "\r", with: "").components(separatedBy: "\n")
        let statusLine = lines.isEmpty ? "(no response)" : lines.removeFirst()
        var headers: [String] = []
        for line in lines where line.contains(":") {
            let name = line[..<line.firstIndex(of: ":")!].lowercased()
            if Self.ignoredHeaders.contains(name) { continue }
            headers.append(name + ":" + line[line.index(after: line.firstIndex(of: ":")!)...])
        }
        headers.sort()
        body = GatewayNormalizer.normalize(body, clientPort: server.clientPort, version: normalizeVersion)
        var text = statusLine.trimmingCharacters(in: .whitespaces) + "\n" + headers.joined(separator: "\n") + "\n\n" + body
        if !streamed && status != 0 { text += "\n(curl exit status \(status): \(stderr))" }
        return text
    }

    private func compare(_ label: String, _ expected: String, _ actual: String) {
        total += 1
        if expected == actual {
            identical += 1
        } else {
            print("gateway differential: DIFF \(label)\n--- etcd\n\(expected)\n+++ swetcd\n\(actual)")
        }
    }
}

/// Member-local values in gateway JSON.
enum GatewayNormalizer {
    nonisolated(unsafe) static let version = try! Regex(#""version":"[^"]*""#)
    nonisolated(unsafe) static let dbSize = try! Regex(#""dbSize(InUse)?":"[0-9]+""#)
    nonisolated(unsafe) static let decimalID = try! Regex(#""[0-9]{19}""#)
    nonisolated(unsafe) static let token = try! Regex(#""token":"[^"]*""#)

    static func normalize(_ text: String, clientPort: Int, version: Bool) -> String {
        var text = text.replacingOccurrences(of: "127.0.0.1:\(clientPort)", with: "127.0.0.1:<CLIENT-PORT>")
        if version {
            // Status: the server's version and its backend file sizes.
            text = text.replacing(Self.version, with: #""version":"<VERSION>""#)
            text = replace(Self.dbSize, in: text) { $0.prefix { $0 != ":" } + #":"<DB-SIZE>""# }
        }
        text = sortLeaseList(text)
        // Tokens are random (and JWTs differ in their expiry).
        text = text.replacing(Self.token, with: #""token":"<TOKEN>""#)
        // Server-chosen lease IDs: the member ID's low 16 bits (694d) on top.
        text = replace(Self.decimalID, in: text) { match in
            guard let value = UInt64(match.dropFirst().dropLast()), value >> 48 == 0x694d else { return String(match) }
            return #""<LEASE-ID>""#
        }
        return text
    }

    /// etcd lists leases in Go map order; the order is not part of the contract.
    static func sortLeaseList(_ text: String) -> String {
        guard let start = text.range(of: #""leases":["#), let end = text[start.upperBound...].firstIndex(of: "]") else { return text }
        let items = text[start.upperBound..<end].components(separatedBy: "},").map { $0.hasSuffix("}") ? $0 : $0 + "}" }
        return String(text[..<start.upperBound]) + items.sorted().joined(separator: ",") + String(text[end...])
    }

    private static func replace(_ regex: Regex<AnyRegexOutput>, in text: String, _ transform: (Substring) -> String) -> String {
        text.replacing(regex) { match in transform(text[match.range]) }
    }
}

private func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
