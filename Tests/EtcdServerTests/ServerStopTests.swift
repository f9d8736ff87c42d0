import EtcdConfiguration
import EtcdProto
import Foundation
import Logging
import HarnessSupport
import Testing
@testable import EtcdServer

@Suite(.timeLimit(.minutes(1))) struct ServerStopTests {
    /// swetcd's main loop exits the process once it sees the member stopped, and a stop is
    /// seen as soon as it begins (a signal, a failed listener, the member's removal). The
    /// main loop then calls `stop()` itself, which must return only when the first caller
    /// has closed the WAL and the backend. It returned at once, so the process exited in the
    /// middle of closing: SQLite's WAL was never checkpointed, grew to gigabytes under load
    /// and made every restart read through it.
    @Test func stopReturnsOnlyOnceTheMemberIsClosedWhoeverBeganIt() async throws {
        let ports = try Ports.free(2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-stop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = "http://127.0.0.1:\(ports[0])"
        let peer = "http://127.0.0.1:\(ports[1])"
        let config = try ServerConfig(
            ServerConfig.flags.parse(
                [
                    "--name", "s", "--data-dir", directory.path, "--listen-client-urls", client, "--advertise-client-urls", client,
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "s=\(peer)",
                ], environment: [:]))
        let server = try await EtcdServer.start(config: config, logger: Logger(label: "stop-test"))
        try await server.waitUntilReady()
        for i in 0..<50 {
            var put = Etcdserverpb_PutRequest()
            put.key = Data("key-\(i)".utf8)
            put.value = Data(repeating: 7, count: 4096)
            _ = try await server.put(put)
        }

        Thread.detachNewThread { server.stop() }
        while !server.isStopped { usleep(50) }
        server.stop()

        let sqliteWAL = directory.appendingPathComponent("member/snap/db-wal").path
        let size = (try? FileManager.default.attributesOfItem(atPath: sqliteWAL)[.size] as? Int) ?? 0
        #expect(size == 0, "stop() returned before the backend was checkpointed and closed (db-wal holds \(size) bytes)")
    }
}
