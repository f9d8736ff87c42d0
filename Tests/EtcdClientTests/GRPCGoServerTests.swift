import EtcdClient
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
}
