import Foundation
import HarnessSupport
import Testing
import TestLoad

/// swetcdctl's TLS flags and `ETCDCTL_*` variables against etcdctl's: both CLIs run the same
/// command lines against one swetcd with client-certificate auth, and print the same output,
/// the same `Error:` line and exit with the same status, for calls that work, handshakes the
/// server refuses and files that do not load.
@Suite(.load(1, limit: .seconds(240))) struct SwetcdctlTLSTests {
    /// One command line: TLS flags (certificate names from `TestPKI`), environment and command.
    struct Case {
        let label: String
        var flags: [String] = []
        var environment: [String: String] = [:]
        let command: [String]
    }

    @Test func tlsFlagsAndErrorsMatchEtcdctl() async throws {
        let server = try makeSwetcd("swetcd-ctl-tls")
        defer { server.removeFiles() }
        let pki = try TestPKI.make(in: server.directory.appendingPathComponent("pki"))
        let tlsServer = ServerProcess(
            role: "swetcd", binary: server.binary, directory: server.directory, clientPort: server.clientPort,
            peerPort: server.peerPort,
            extraArguments: [
                "--cert-file", pki.cert("server"), "--key-file", pki.key("server"), "--client-cert-auth",
                "--trusted-ca-file", pki.cert("ca"),
            ],
            clientScheme: "https")
        try tlsServer.start()
        defer { tlsServer.stop() }
        try tlsServer.waitForLogMilestones(deadline: Date().addingTimeInterval(60))

        let good = ["--cacert", "ca", "--cert", "client", "--key", "client"]
        let cases = [
            Case(label: "put", flags: good, command: ["put", "tls-ctl", "v"]),
            Case(label: "get", flags: good, command: ["get", "tls-ctl"]),
            Case(label: "get as json", flags: good, command: ["get", "tls-ctl", "-w", "json"]),
            Case(label: "skip verification", flags: ["--cert", "client", "--key", "client", "--insecure-skip-tls-verify"], command: ["get", "tls-ctl"]),
            Case(label: "variables", environment: ["ETCDCTL_CACERT": "ca", "ETCDCTL_CERT": "client", "ETCDCTL_KEY": "client"], command: ["get", "tls-ctl"]),
            Case(label: "no client certificate", flags: ["--cacert", "ca"], command: ["get", "tls-ctl"]),
            Case(label: "another CA", flags: ["--cacert", "ca2", "--cert", "client", "--key", "client"], command: ["get", "tls-ctl"]),
            Case(label: "missing CA file", flags: ["--cacert", "/nonexistent/ca.crt"], command: ["get", "tls-ctl"]),
            Case(label: "certificate without key", flags: ["--cacert", "ca", "--cert", "client"], command: ["get", "tls-ctl"]),
            Case(label: "empty CA flag", flags: ["--cacert", ""], command: ["get", "tls-ctl"]),
            Case(label: "key of another certificate", flags: ["--cacert", "ca", "--cert", "client", "--key", "server"], command: ["get", "tls-ctl"]),
        ]
        let etcdctl = try Binaries.fromPath("etcdctl", override: "ETCDCTL_BIN")
        let swetcdctl = try Binaries.swetcdctl()
        for entry in cases {
            let reference = try run(etcdctl, entry, server: tlsServer, pki: pki)
            let ours = try run(swetcdctl, entry, server: tlsServer, pki: pki)
            #expect(ours == reference, "\(entry.label)")
        }

        // Under auth, a call without a token runs as the certificate's CN (`client`), and a
        // password still works beside the certificate: both CLIs, the same answers.
        for command in [
            "user add root:rootpw", "user grant-role root root", "role add app", "role grant-permission app read tls-ctl",
            "user add client --no-password", "user grant-role client app", "auth enable",
        ] {
            let setup = try run(etcdctl, Case(label: command, flags: good, command: command.split(separator: " ").map(String.init)),
                                server: tlsServer, pki: pki)
            try #require(setup.hasPrefix("exit 0"), "\(command): \(setup)")
        }
        let asCertificate = [
            Case(label: "the certificate's user reads", flags: good, command: ["get", "tls-ctl"]),
            Case(label: "the certificate's user may not write", flags: good, command: ["put", "tls-ctl", "w"]),
            Case(label: "a certificate naming no user", flags: ["--cacert", "ca", "--cert", "server", "--key", "server"], command: ["get", "tls-ctl"]),
            Case(label: "a password beside the certificate", flags: good, command: ["--user", "root:rootpw", "get", "tls-ctl"]),
            Case(label: "a password for the no-password user", flags: good, command: ["--user", "client:x", "get", "tls-ctl"]),
        ]
        for entry in asCertificate {
            let reference = try run(etcdctl, entry, server: tlsServer, pki: pki)
            let ours = try run(swetcdctl, entry, server: tlsServer, pki: pki)
            #expect(ours == reference, "\(entry.label)")
        }
        #expect(try run(swetcdctl, asCertificate[0], server: tlsServer, pki: pki).contains("tls-ctl\nv"), "the read succeeded")
    }

    /// Runs `binary` for `entry`; returns its exit status, stdout and its `Error:` lines.
    private func run(_ binary: URL, _ entry: Case, server: ServerProcess, pki: TestPKI) throws -> String {
        func path(_ flag: String, _ value: String) -> String {
            guard !value.isEmpty, !value.hasPrefix("/") else { return value }
            return flag.hasSuffix("KEY") || flag == "--key" ? pki.key(value) : pki.cert(value)
        }
        let flags = entry.flags.enumerated().map { index, value in
            index % 2 == 1 && entry.flags[index - 1] != "--insecure-skip-tls-verify" ? path(entry.flags[index - 1], value) : value
        }
        let environment = Dictionary(uniqueKeysWithValues: entry.environment.map { ($0.key, path($0.key, $0.value)) })
        let out = server.directory.appendingPathComponent("ctl-\(UUID().uuidString)")
        let output = try Child(
            executable: binary,
            arguments: ["--endpoints", server.clientURL, "--command-timeout", "2s", "--dial-timeout", "2s"] + flags + entry.command,
            environment: Binaries.cleanEnvironment(environment.merging(["ETCDCTL_API": "3"]) { $1 }), stdin: nil,
            stdoutURL: out, stderrURL: out.appendingPathExtension("err")
        ).finishOrThrow(timeout: 30)
        let errors = String(decoding: output.stderr, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("Error") }
        var stdout = String(decoding: output.stdout, as: UTF8.self)
        // JSON output carries the member's IDs and revisions, the same for both CLIs but
        // for the raft term and index, which the put between the runs moves.
        stdout = stdout.replacingOccurrences(of: #""raft_term":\d+"#, with: "\"raft_term\":_", options: .regularExpression)
        return "exit \(output.status)\n\(stdout)\(errors.joined(separator: "\n"))"
    }
}
