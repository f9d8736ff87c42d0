import Foundation
import HarnessSupport
import Synchronization
import Testing
import TestLoad

/// Rotating a running member's client certificate and its trusted CA bundle on disk under
/// load: new connections use the new files without a restart (etcd reloads only the
/// certificate; its CA bundle is read once, its issue #11555), while a connection made
/// before keeps working and no request on it fails.
@Suite(.load(1, limit: .seconds(180))) struct CertificateRotationTests {
    @Test func aNewCertificateAndCABundleTakeEffectWithoutARestart() async throws {
        let server = try makeSwetcd("swetcd-rotation")
        defer {
            server.stop()
            server.removeFiles()
        }
        let pki = try TestPKI.make(in: server.directory.appendingPathComponent("pki"))
        let live = server.directory.appendingPathComponent("live")
        try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
        func install(_ cert: String, _ key: String, ca: String) throws {
            // Written beside, then renamed over: as cert-manager and most tools replace files.
            for (source, name) in [(cert, "server.crt"), (key, "server.key"), (ca, "ca.crt")] {
                let staged = live.appendingPathComponent(name + ".new")
                try? FileManager.default.removeItem(at: staged)
                try FileManager.default.copyItem(atPath: source, toPath: staged.path)
                _ = rename(staged.path, live.appendingPathComponent(name).path)
            }
        }
        try install(pki.cert("server"), pki.key("server"), ca: pki.cert("ca"))
        let rotating = ServerProcess(
            role: "swetcd", binary: server.binary, directory: server.directory, clientPort: server.clientPort,
            peerPort: server.peerPort,
            extraArguments: [
                "--cert-file", live.appendingPathComponent("server.crt").path, "--key-file", live.appendingPathComponent("server.key").path,
                "--client-cert-auth", "--trusted-ca-file", live.appendingPathComponent("ca.crt").path,
            ],
            clientScheme: "https")
        try rotating.start()
        defer { rotating.stop() }
        try rotating.waitForLogMilestones(deadline: Date().addingTimeInterval(60))

        let curl = try Binaries.fromPath("curl", override: "CURL_BIN")
        func health(ca: String, client: String) throws -> Bool {
            let out = server.directory.appendingPathComponent("curl-\(UUID().uuidString)")
            let result = try Child(
                executable: curl,
                arguments: ["-s", "-m", "10", "--cacert", pki.cert(ca), "--cert", pki.cert(client), "--key", pki.key(client),
                            "https://127.0.0.1:\(rotating.clientPort)/health"],
                environment: Binaries.cleanEnvironment(), stdin: nil, stdoutURL: out, stderrURL: out.appendingPathExtension("err")
            ).finish(timeout: 30)
            return result.status == 0 && String(decoding: result.stdout, as: UTF8.self).contains("\"health\":\"true\"")
        }
        #expect(try health(ca: "ca", client: "client"))
        #expect(try !health(ca: "ca2", client: "client-ca2"), "the second CA is not trusted yet")

        // Load on a connection made with the old files, through the whole rotation.
        let steady = try EtcdTestClient(
            port: rotating.clientPort, tls: .init(trustedCA: pki.cert("ca"), certificate: pki.cert("client"), key: pki.key("client")))
        let progress = Progress()
        let load = Task {
            while !Task.isCancelled {
                do {
                    _ = try await steady.put("rotation/\(progress.done % 10)", "\(progress.done)")
                    progress.succeeded()
                } catch {
                    if !Task.isCancelled { progress.failed("\(error)") }
                }
            }
        }
        defer { load.cancel() }
        try await progress.waitFor(20)

        try install(pki.cert("server-ca2"), pki.key("server-ca2"), ca: pki.cert("ca2"))
        // The files are looked at when connections arrive, at most every 100 ms: poll, bounded.
        var rotated = false
        for _ in 0..<100 where !rotated {
            rotated = try health(ca: "ca2", client: "client-ca2")
            if !rotated { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(rotated, "new connections never saw the new certificate and CA:\n\(rotating.logTail())")
        #expect(try !health(ca: "ca", client: "client"), "the old CA is no longer trusted")
        #expect(rotating.log.contains("reloaded TLS files"))

        // The connection from before the rotation still works, and nothing on it failed.
        try await progress.waitFor(progress.done + 20)
        load.cancel()
        await load.value
        await steady.close()
        #expect(progress.failures.isEmpty, "requests failed on the connection made before the rotation: \(progress.failures.prefix(3))")
    }
}

/// Requests done and failed by a load task, watched by the test.
private final class Progress: Sendable {
    private let state = Mutex<(done: Int, failures: [String])>((0, []))
    var done: Int { state.withLock { $0.done } }
    var failures: [String] { state.withLock { $0.failures } }
    func succeeded() { state.withLock { $0.done += 1 } }
    func failed(_ error: String) { state.withLock { $0.failures.append(error) } }

    /// Waits (at most 60 s) until `count` requests succeeded.
    func waitFor(_ count: Int) async throws {
        for _ in 0..<600 where done < count { try await Task.sleep(for: .milliseconds(100)) }
        if done < count { throw HarnessError("only \(done) of \(count) requests succeeded; failures: \(failures.prefix(3))") }
    }
}
