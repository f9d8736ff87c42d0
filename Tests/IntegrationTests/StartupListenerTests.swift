import Foundation
import HarnessSupport
import Testing
import TestLoad

#if canImport(Glibc)
import Glibc
#endif

/// Harnesses wait for a start-up log line and then connect. The client port used to be bound
/// only once the member was ready, after it had logged that it published itself, so such a
/// connection was refused. Like etcd, the port is now bound before the member starts, and
/// what connects early is served once the member is ready.
@Suite(.load(1, limit: .seconds(120))) struct StartupListenerTests {
    @Test func theClientPortAcceptsFromTheFirstStartLine() async throws {
        let server = try makeSwetcd("swetcd-early-connect")
        defer {
            server.stop()
            server.removeFiles()
        }
        try server.start()
        let deadline = Date().addingTimeInterval(30)
        while !server.log.contains("starting an etcd server") {
            #expect(server.isRunning, "swetcd exited during start-up:\n\(server.logTail())")
            guard server.isRunning, Date() < deadline else { return }
            usleep(1000)
        }
        #expect(Self.connects(port: server.clientPort), "the client port refused a connection after start-up began")

        let client = try EtcdTestClient(port: server.clientPort)
        defer { Task { await client.close() } }
        _ = try await client.put("early", "yes")
        #expect(try await client.get("early").kvs.first?.value == Data("yes".utf8))
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is accepted (by the kernel, at least).
    static func connects(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }
}
