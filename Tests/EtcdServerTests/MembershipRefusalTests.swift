import EtcdProto
import Foundation
import Testing
@testable import EtcdServer
import TestLoad

/// Membership changes the member refuses when applying them, as etcd does; a refused change
/// stays refused when a restart replays the log.
@Suite(.load(1, limit: .seconds(120))) struct MembershipRefusalTests {
    @Test func refusedChangesLeaveTheMembershipAsItWasAlsoAfterARestart() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        var server = try await member.start()
        let own = server.membership.members.map(\.peerURLs)

        await #expect(throws: EtcdError.memberNotFound) {
            try await server.memberRemove(.with { $0.id = 0xdead })
        }
        await #expect(throws: EtcdError.peerURLExists) {
            try await server.memberAdd(.with { $0.peerUrls = own[0]; $0.isLearner = true })
        }
        await #expect(throws: EtcdError.memberNotFound) {
            try await server.memberUpdate(.with { $0.id = 0xbeef; $0.peerUrls = ["http://127.0.0.1:1"] })
        }
        let learner = try await server.memberAdd(.with { $0.peerUrls = ["http://127.0.0.1:2"]; $0.isLearner = true })
        #expect(learner.members.count == 2)
        await #expect(throws: EtcdError.tooManyLearners) {
            try await server.memberAdd(.with { $0.peerUrls = ["http://127.0.0.1:3"]; $0.isLearner = true })
        }
        let members = try await server.memberList().members.map(\.id).sorted()
        server.stop()

        server = try await member.start()
        defer { server.stop() }
        #expect(try await server.memberList().members.map(\.id).sorted() == members)
        #expect(server.membership.member(learner.member.id)?.isLearner == true)
    }

    /// `--max-learners` (etcd 3.6) raises the one-learner limit.
    @Test func maxLearnersAllowsThatManyLearners() async throws {
        let member = try InProcessMember(extraArguments: ["--max-learners", "2"])
        defer { member.remove() }
        let server = try await member.start()
        defer { server.stop() }
        for port in [2, 3] {
            _ = try await server.memberAdd(.with { $0.peerUrls = ["http://127.0.0.1:\(port)"]; $0.isLearner = true })
        }
        await #expect(throws: EtcdError.tooManyLearners) {
            try await server.memberAdd(.with { $0.peerUrls = ["http://127.0.0.1:4"]; $0.isLearner = true })
        }
    }
}
