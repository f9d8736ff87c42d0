import EtcdClient
import Foundation
import HarnessSupport
import XCTest

/// The client against the real etcd's grpc-go server, whose routine HTTP/2 frames
/// (RST_STREAM(NO_ERROR) after responses, bandwidth-probing PINGs) exceed swift-nio-http2's
/// flood limits unless the client filters them.
final class GRPCGoServerTests: XCTestCase {
    func testThousandsOfCallsOnOneConnectionToEtcd() async throws {
        let cluster = try TestCluster.start(features: [.kv, .grpcGo], test: name)
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }

        // Far more than the 200 resets per 10 s that swift-nio-http2 tolerates by default.
        for index in 0..<1500 {
            try await client.kv.put(EtcdBytes("chatter/\(index % 10)"), EtcdBytes("\(index)"))
            if index % 3 == 0 { _ = try await client.kv.get(.key(EtcdBytes("chatter/\(index % 10)"))) }
        }
        let value = try await client.kv.get("chatter/9").value
        XCTAssertEqual(value, "1499")
    }

    /// The same traffic under TLS, where the filter sits behind the TLS handler to read
    /// frames. (Against Debian's etcd 3.4 this passes even without the filter: its grpc-go
    /// does not send the resets over TLS at the rate it does in plaintext.)
    func testThousandsOfCallsOverTLSToEtcd() async throws {
        let etcd = try Binaries.fromPath("etcd", override: "ETCD_BIN")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-go-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try TLSTests.makeCertificates(in: directory)
        let (server, endpoint) = try TLSTests.startServer(etcd, kind: "etcd", in: directory, clientCertAuth: false)
        defer { server.stop() }
        var config = EtcdClient.Configuration(endpoints: [endpoint])
        config.tls = .init(trustedCAFile: directory.appendingPathComponent("ca.pem").path)
        let client = try EtcdClient(configuration: config)
        defer { Task { await client.close() } }
        // Concurrent calls, so that grpc-go's resets and pings come as fast as under load.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for index in 0..<200 {
                        try await client.kv.put(EtcdBytes("chatter/\(worker)"), EtcdBytes("\(index)"))
                        if index % 3 == 0 { _ = try await client.kv.get(.key(EtcdBytes("chatter/\(worker)"))) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let value = try await client.kv.get("chatter/15").value
        XCTAssertEqual(value, "199")
    }
}
