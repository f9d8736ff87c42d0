import EtcdClient
import Foundation
import HarnessSupport
import XCTest

/// TLS with client certificates (etcd's `--client-cert-auth`), certificates made by openssl
/// for the test.
final class TLSTests: XCTestCase {
    func testMutualTLS() async throws {
        let (binary, kind) = try TestServerChoice.binary(for: [.kv, .tls], test: name)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("etcdclient-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.makeCertificates(in: directory)
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        let (server, endpoint) = try Self.startServer(binary, kind: kind, in: directory, clientCertAuth: true)
        defer { server.stop() }

        var config = EtcdClient.Configuration(endpoints: [endpoint])
        config.tls = .init(trustedCAFile: path("ca.pem"), certificateFile: path("server.pem"), keyFile: path("server-key.pem"))
        let client = try EtcdClient(configuration: config)
        try await client.kv.put("secure", "yes")
        let value = try await client.kv.get("secure").value
        XCTAssertEqual(value, "yes")
        await client.close()

        // Without a client certificate the server refuses the connection.
        var anonymous = EtcdClient.Configuration(endpoints: [endpoint])
        anonymous.tls = .init(trustedCAFile: path("ca.pem"))
        anonymous.requestTimeout = .seconds(2)
        let refused = try EtcdClient(configuration: anonymous)
        do {
            _ = try await refused.kv.get("secure")
            XCTFail("read without a client certificate")
        } catch let error as EtcdError {
            XCTAssertTrue(error.kind == .deadlineExceeded || error.code == .unavailable, "\(error)")
        }
        await refused.close()
    }

    /// Starts `binary` (etcd or swetcd) with TLS on its client port, certificates from
    /// `makeCertificates` in `directory`; returns the process and its https endpoint.
    static func startServer(_ binary: URL, kind: String, in directory: URL, clientCertAuth: Bool) throws -> (Child, String) {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let ports = try Ports.free(2)
        let endpoint = "https://127.0.0.1:\(ports[0])"
        let log = directory.appendingPathComponent("server.log")
        var arguments = [
            "--name", "default", "--data-dir", path("data"),
            "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
            "--listen-peer-urls", "http://127.0.0.1:\(ports[1])",
            "--cert-file", path("server.pem"), "--key-file", path("server-key.pem"),
        ]
        if clientCertAuth { arguments += ["--client-cert-auth", "--trusted-ca-file", path("ca.pem")] }
        let server = try Child(
            executable: binary, arguments: arguments, environment: Binaries.cleanEnvironment(), stdin: nil,
            stdoutURL: directory.appendingPathComponent("server.out"), stderrURL: log)
        let deadline = Date().addingTimeInterval(30)
        while !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains(ServerProcess.readyMessage) {
            guard Date() < deadline, !server.hasExited else {
                server.stop()
                throw HarnessError("\(kind) with TLS did not start:\n\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            usleep(50_000)
        }
        return (server, endpoint)
    }

    /// A CA and a certificate for 127.0.0.1, usable by server and client.
    static func makeCertificates(in directory: URL) throws {
        let openssl = try Binaries.fromPath("openssl", override: "OPENSSL_BIN")
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
            .write(to: directory.appendingPathComponent("ext.cnf"), atomically: true, encoding: .utf8)
        let steps = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=test-ca"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"],
        ]
        for arguments in steps {
            let process = Process()
            process.executableURL = openssl
            process.arguments = arguments
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw HarnessError("openssl \(arguments.joined(separator: " ")) failed")
            }
        }
    }
}
