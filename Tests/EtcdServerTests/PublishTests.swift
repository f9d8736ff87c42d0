import Foundation
import Testing
@testable import EtcdServer
import TestLoad

/// A starting member publishes its name and client URLs through the log exactly once, as
/// etcd's does: a second publish entry would shift every later raft index away from etcd's.
@Suite(.load(1, limit: .seconds(120))) struct PublishTests {
    @Test func aFreshMemberPublishesItselfOnce() async throws {
        // The duplicate appeared when the publish task ran between the apply answering it and
        // the Raft loop marking the member published, so a few starts give it the chance.
        for _ in 0..<5 {
            let member = try InProcessMember()
            defer { member.remove() }
            let server = try await member.start()
            defer { server.stop() }
            // Through the log after anything the publish task proposed before it saw itself ready.
            _ = try await server.put(.with { $0.key = Data("k".utf8); $0.value = Data("v".utf8) })
            // Conf change, leader's empty entry, cluster version, publish, the put: etcd's 5.
            #expect(try server.status().raftIndex == 5)
        }
    }
}
