import Foundation
import HarnessSupport
import Testing
import TestLoad

/// systemd's `Type=notify` readiness: swetcd sends `READY=1` to `$NOTIFY_SOCKET` once it
/// serves clients and `STOPPING=1` when it begins to stop; a socket that does not exist is
/// logged and does not stop the member.
@Suite(.serialized, .load(1, limit: .seconds(120))) struct SystemdNotifyTests {
    @Test func readyOnceClientsAreServedAndStoppingOnSIGTERM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-notify-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let socketPath = directory.appendingPathComponent("notify.sock").path
        let notifications = try DatagramSocket(path: socketPath)
        defer { notifications.close() }

        let (member, port) = try Self.start(in: directory, notifySocket: socketPath)
        defer { member.stop() }
        let ready = try await onDedicatedThread("notify-wait") { notifications.receive(timeoutSeconds: 60) }
        #expect(ready == "READY=1")
        // Ready means ready: a request made at once succeeds.
        let client = try EtcdTestClient(port: port)
        _ = try await client.put("notified", "yes", timeout: 5)
        await client.close()

        kill(member.pid, SIGTERM)
        let stopping = try await onDedicatedThread("notify-wait") { notifications.receive(timeoutSeconds: 30) }
        #expect(stopping == "STOPPING=1")
        member.wait(timeout: 30)
    }

    @Test func aMissingNotifySocketIsLoggedAndTheMemberServes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-notify-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (member, port) = try Self.start(in: directory, notifySocket: directory.appendingPathComponent("absent.sock").path)
        defer { member.stop() }
        let log = directory.appendingPathComponent("member.log")
        var logged = ""
        for _ in 0..<300 where !logged.contains("failed to notify systemd for readiness") {
            try await Task.sleep(for: .milliseconds(100))
            logged = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        }
        #expect(logged.contains("failed to notify systemd for readiness"))
        #expect(logged.contains("connect: no such file or directory"))
        let client = try EtcdTestClient(port: port)
        _ = try await client.put("still", "serving", timeout: 5)
        await client.close()
    }

    /// Starts a member on fresh ports with `NOTIFY_SOCKET` set; returns it and its client port.
    static func start(in directory: URL, notifySocket: String) throws -> (Child, Int) {
        let ports = try Ports.free(2)
        let client = "http://127.0.0.1:\(ports[0])"
        let peer = "http://127.0.0.1:\(ports[1])"
        let member = try Child(
            executable: try Binaries.swetcd(),
            arguments: [
                "--name", "n", "--data-dir", directory.appendingPathComponent("data").path,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "n=\(peer)",
            ],
            environment: Binaries.cleanEnvironment(["NOTIFY_SOCKET": notifySocket]), stdin: nil,
            stdoutURL: directory.appendingPathComponent("member.out"), stderrURL: directory.appendingPathComponent("member.log"))
        return (member, ports[0])
    }
}

/// A Unix datagram socket bound at a path, as systemd's notification socket is.
final class DatagramSocket: Sendable {
    let descriptor: CInt

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard descriptor >= 0, bound == 0 else { throw HarnessError("cannot bind a datagram socket at \(path)") }
    }

    /// The next datagram as text, or nil after `timeoutSeconds` without one.
    func receive(timeoutSeconds: Int) -> String? {
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    func close() { _ = Glibc.close(descriptor) }
}
