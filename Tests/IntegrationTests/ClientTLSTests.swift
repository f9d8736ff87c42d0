import Foundation
import HarnessSupport
import Testing
import TestLoad

/// The client port over TLS, the real etcdctl and curl against the real etcd and swetcd
/// started with the same TLS flags: what works works on both, and what etcd refuses (no
/// client certificate, one from another CA, an expired one, plaintext) swetcd refuses the
/// same way, as etcdctl and curl see it.
@Suite(.serialized, .load(2, limit: .seconds(240))) struct ClientTLSTests {
    @Test func serverTLSOnlyServesClientsThatTrustTheCA() async throws {
        try await Self.compare(clientCertAuth: false) { ctl, curl, _ in
            [
                ctl("put", ["--cacert", "ca"], ["put", "tls-key", "v"]),
                ctl("get", ["--cacert", "ca"], ["get", "tls-key"]),
                ctl("get with another CA", ["--cacert", "ca2"], ["get", "tls-key"]),
                curl("health", ["--cacert", "ca"], "/health"),
            ]
        }
    }

    @Test func clientCertificateAuthRefusesWhatEtcdRefuses() async throws {
        try await Self.compare(clientCertAuth: true) { ctl, curl, pki in
            let good = ["--cacert", "ca", "--cert", "client", "--key", "client"]
            return [
                ctl("put with a certificate", good, ["put", "tls-key", "v"]),
                ctl("get with a certificate", good, ["get", "tls-key"]),
                ctl("no certificate", ["--cacert", "ca"], ["get", "tls-key"]),
                ctl("certificate from another CA", ["--cacert", "ca", "--cert", "client-ca2", "--key", "client-ca2"], ["get", "tls-key"]),
                ctl("expired certificate", ["--cacert", "ca", "--cert", "client-expired", "--key", "client-expired"], ["get", "tls-key"]),
                curl("health with a certificate", ["--cacert", "ca", "--cert", "client", "--key", "client"], "/health"),
                curl("gateway with a certificate", ["--cacert", "ca", "--cert", "client", "--key", "client", "-d", "{\"key\":\"dGxzLWtleQ==\"}"], "/v3/kv/range"),
                curl("health without a certificate", ["--cacert", "ca"], "/health"),
                curl("plaintext", ["--cacert", "ca", "--plaintext"], "/health"),
            ]
        }
    }

    /// With `--client-cert-auth`, a call without a token runs as the user its certificate's
    /// common name names (`client` here), a user without a password; a token wins.
    @Test func theCertificateNameIsTheUserWithoutAToken() async throws {
        try await Self.compare(clientCertAuth: true) { ctl, _, _ in
            let client = ["--cacert", "ca", "--cert", "client", "--key", "client"]
            let server = ["--cacert", "ca", "--cert", "server", "--key", "server"]
            return [
                ctl("add root", client, ["user", "add", "root:rootpw"]),
                ctl("grant root", client, ["user", "grant-role", "root", "root"]),
                ctl("add role", client, ["role", "add", "app"]),
                ctl("grant read", client, ["role", "grant-permission", "app", "read", "/app/", "--prefix"]),
                ctl("add the certificate's user", client, ["user", "add", "client", "--no-password"]),
                ctl("grant the role", client, ["user", "grant-role", "client", "app"]),
                ctl("enable", client, ["auth", "enable"]),
                ctl("root writes", client, ["--user", "root:rootpw", "put", "/app/k", "v"]),
                ctl("the certificate reads", client, ["get", "/app/k"]),
                ctl("the certificate may not write", client, ["put", "/app/k", "w"]),
                ctl("nor read elsewhere", client, ["get", "/other"]),
                ctl("a certificate naming no user", server, ["get", "/app/k"]),
                ctl("a password for the no-password user", client, ["--user", "client:x", "get", "/app/k"]),
                ctl("a token wins over the certificate", client, ["--user", "root:rootpw", "put", "/other", "v"]),
            ]
        }
    }

    /// `--listen-metrics-urls` serves `/metrics` and `/health` only, beside a TLS client port.
    @Test func metricsListenerServesOnlyMetricsAndHealth() async throws {
        try await Self.compare(clientCertAuth: true, metricsScheme: "http") { _, curl, _ in
            [
                curl("metrics", ["--metrics"], "/metrics"),
                curl("health", ["--metrics"], "/health"),
                curl("version", ["--metrics"], "/version"),
                curl("gateway", ["--metrics"], "/v3/kv/range"),
            ]
        }
    }

    /// An https metrics URL takes the client port's TLS; `--client-cert-allowed-hostname`
    /// admits only client certificates valid for that name (the `server` certificate names
    /// localhost, the `client` one nothing).
    @Test func httpsMetricsAndAllowedHostnames() async throws {
        try await Self.compare(
            clientCertAuth: true, extraFlags: ["--client-cert-allowed-hostname", "localhost"], metricsScheme: "https"
        ) { ctl, curl, _ in
            [
                ctl("put with a certificate for localhost", ["--cacert", "ca", "--cert", "server", "--key", "server"], ["put", "k", "v"]),
                ctl("get with a certificate for no host", ["--cacert", "ca", "--cert", "client", "--key", "client"], ["get", "k"]),
                curl("metrics with a certificate for localhost", ["--metrics", "--cacert", "ca", "--cert", "server", "--key", "server"], "/metrics"),
                curl("metrics with a certificate for no host", ["--metrics", "--cacert", "ca", "--cert", "client", "--key", "client"], "/health"),
                curl("metrics without a certificate", ["--metrics", "--cacert", "ca"], "/health"),
            ]
        }
    }

    /// One etcdctl or curl call and how its outcome is compared.
    struct Call {
        let label: String
        let run: (ServerProcess, TestPKI) throws -> CommandOutput
        let normalize: (CommandOutput) -> String
    }

    typealias CtlCall = (String, [String], [String]) -> Call
    typealias CurlCall = (String, [String], String) -> Call

    /// Runs the calls against etcd and swetcd started with the same flags (and a metrics
    /// listener of `metricsScheme`, which curl's pseudo-flag `--metrics` talks to).
    private static func compare(
        clientCertAuth: Bool, extraFlags: [String] = [], metricsScheme: String? = nil,
        calls makeCalls: (CtlCall, CurlCall, TestPKI) -> [Call]
    ) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-tls-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let pki = try TestPKI.make(in: root.appendingPathComponent("pki"))
        var flags = ["--cert-file", pki.cert("server"), "--key-file", pki.key("server")]
        if clientCertAuth { flags += ["--client-cert-auth", "--trusted-ca-file", pki.cert("ca")] }
        flags += extraFlags
        let metricsPorts = try Ports.free(2)
        let etcdctl = try Binaries.fromPath("etcdctl", override: "ETCDCTL_BIN")
        let curlBinary = try Binaries.fromPath("curl", override: "CURL_BIN")

        let ctl: CtlCall = { label, tls, command in
            Call(label: label, run: { server, pki in
                let files = tls.enumerated().map { index, value in
                    index % 2 == 1 ? (tls[index - 1] == "--key" ? pki.key(value) : pki.cert(value)) : value
                }
                let out = server.directory.appendingPathComponent("ctl-\(UUID().uuidString)")
                return try Child(
                    executable: etcdctl,
                    arguments: ["--endpoints", server.clientURL, "--command-timeout", "2s", "--dial-timeout", "2s"] + files + command,
                    environment: Binaries.cleanEnvironment(["ETCDCTL_API": "3"]), stdin: nil,
                    stdoutURL: out, stderrURL: out.appendingPathExtension("err")
                ).finishOrThrow(timeout: 30)
            }, normalize: { output in
                // etcdctl's warning line before the error carries a client UUID and a time.
                let errorLines = String(decoding: output.stderr, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("Error") }
                return "exit \(output.status)\n\(String(decoding: output.stdout, as: UTF8.self))\(errorLines.joined(separator: "\n"))"
            })
        }
        let curl: CurlCall = { label, tls, path in
            Call(label: label, run: { server, pki in
                var arguments = ["-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}"]
                var scheme = "https"
                var port = server.clientPort
                var index = 0
                while index < tls.count {
                    switch tls[index] {
                    case "--plaintext": scheme = "http"; index += 1
                    case "--metrics":
                        scheme = metricsScheme ?? "http"
                        port = server.role == "etcd" ? metricsPorts[0] : metricsPorts[1]
                        index += 1
                    case "--key": arguments += ["--key", pki.key(tls[index + 1])]; index += 2
                    case "--cert", "--cacert": arguments += [tls[index], pki.cert(tls[index + 1])]; index += 2
                    default: arguments += [tls[index], tls[index + 1]]; index += 2
                    }
                }
                let out = server.directory.appendingPathComponent("curl-\(UUID().uuidString)")
                return try Child(
                    executable: curlBinary, arguments: arguments + ["\(scheme)://127.0.0.1:\(port)\(path)"],
                    environment: Binaries.cleanEnvironment(), stdin: nil, stdoutURL: out, stderrURL: out.appendingPathExtension("err")
                ).finishOrThrow(timeout: 30)
            }, normalize: { output in
                // A refused TLS handshake reaches curl as one of several exit codes (an alert
                // read during or after the handshake, or a reset): all are "refused".
                let refused: Set<Int32> = [35, 52, 55, 56]
                let outcome = output.status == 0 ? "HTTP \(String(decoding: output.stdout, as: UTF8.self))" : (refused.contains(output.status) ? "refused" : "curl exit \(output.status)")
                return outcome
            })
        }
        let calls = makeCalls(ctl, curl, pki)

        var transcripts: [[String]] = []
        for (index, (role, binary)) in [("etcd", try Binaries.fromPath("etcd", override: "ETCD_BIN")), ("swetcd", try Binaries.swetcd())].enumerated() {
            let ports = try Ports.free(2)
            let metrics = metricsScheme.map { ["--listen-metrics-urls", "\($0)://127.0.0.1:\(metricsPorts[index])"] } ?? []
            let server = ServerProcess(
                role: role, binary: binary, directory: root.appendingPathComponent(role), clientPort: ports[0], peerPort: ports[1],
                extraArguments: flags + metrics, clientScheme: "https")
            try server.start()
            defer { server.stop() }
            try server.waitForLogMilestones(deadline: Date().addingTimeInterval(60))
            transcripts.append(try calls.map { call in "\(call.label): \(call.normalize(try call.run(server, pki)))" })
        }
        for (etcd, swetcd) in zip(transcripts[0], transcripts[1]) {
            #expect(etcd == swetcd)
        }
        let first = transcripts[0].first ?? ""
        #expect(first.contains("exit 0") || first.contains("HTTP 200"), "the first call should succeed on etcd: \(transcripts[0])")
    }
}

extension Child {
    /// Waits for the command and returns its output; throws if it had to be killed.
    func finishOrThrow(timeout: TimeInterval) throws -> CommandOutput {
        let output = finish(timeout: timeout)
        if output.timedOut { throw HarnessError("a command outran \(timeout) s") }
        return output
    }
}
