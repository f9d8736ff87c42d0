import EtcdProto
import Foundation
import Testing
@testable import EtcdServer
import TestLoad

@Suite(.load(2, limit: .seconds(120))) struct MemberAddTests {
    static func add(_ urls: [String], learner: Bool = false) -> Etcdserverpb_MemberAddRequest {
        var request = Etcdserverpb_MemberAddRequest()
        request.peerUrls = urls
        request.isLearner = learner
        return request
    }

    /// etcd parses peer URLs with Go's url.Parse and net.SplitHostPort: `http://[::1` does not
    /// parse, while a port past 65535 does. swetcd had it the other way round.
    @Test func peerURLsAreCheckedByEtcdsRules() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        let server = try await member.start()
        defer { server.stop() }
        for bad in ["http://[::1", "http://[::1]", "ftp://127.0.0.1:2380", "http://127.0.0.1", "http://127.0.0.1:2380/path", "http://a:b:c"] {
            await #expect(throws: EtcdError.memberBadURLs, "\(bad)") { _ = try await server.memberAdd(Self.add([bad], learner: true)) }
        }
        // A learner at a port no socket can have: added, unreachable, and the member serves on.
        let added = try await server.memberAdd(Self.add(["http://127.0.0.1:99999"], learner: true))
        #expect(added.member.peerUrls == ["http://127.0.0.1:99999"])
        var put = Etcdserverpb_PutRequest()
        put.key = Data("still-serving".utf8)
        _ = try await server.put(put)
        #expect(try await server.memberList().members.count == 2)
    }

    /// etcd lets a one-member cluster take a second voter before that voter has started (how a
    /// cluster restored from a backup grows again); the strict reconfiguration check refused it.
    @Test func aLoneMemberMayAddASecondVoter() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        let server = try await member.start()
        defer { server.stop() }
        #expect(server.config.strictReconfigCheck)
        let response = try await server.memberAdd(Self.add(["http://127.0.0.1:1"]))
        #expect(response.members.count == 2)
        #expect(!response.member.isLearner)
    }
}
