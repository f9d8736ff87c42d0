import Testing
@testable import Raft

/// Messages with the wrong term shape, found by fuzzing the peer port: a vote request in term
/// 0 made the node answer in term 0, a forwarded proposal with a term (or no entries) made it
/// forward or append what Raft refuses to. A node drops them at `RawNode.step`.
@Suite struct PeerMessageShapeTests {
    func follower() throws -> RawNode {
        let node = try RawNode(config: testConfig(1), storage: MemoryStorage(), peers: [1, 2, 3])
        try node.step(Message(type: .heartbeat, to: 1, from: 2, term: 1))
        return node
    }

    static func dropped(_ node: RawNode, _ m: Message) -> MessageDropReason? {
        do {
            try node.step(m)
        } catch .messageDropped(let reason) {
            return reason
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return nil
    }

    @Test(arguments: [MessageType.vote, .preVote, .app, .heartbeat, .voteResp, .transferLeader, .timeoutNow])
    func peerMessagesWithoutATermAreDropped(type: MessageType) throws {
        let node = try follower()
        #expect(Self.dropped(node, Message(type: type, to: 1, from: 2, term: 0)) == .missingTerm(type))
    }

    @Test func forwardedProposalsAndReadsWithATermAreDropped() throws {
        let node = try follower()
        let entry = Entry(term: 0, index: 0, data: [1])
        #expect(Self.dropped(node, Message(type: .prop, to: 1, from: 3, term: 1, entries: [entry])) == .unexpectedTerm(.prop))
        #expect(Self.dropped(node, Message(type: .readIndex, to: 1, from: 3, term: 1)) == .unexpectedTerm(.readIndex))
    }

    @Test func forwardedProposalWithoutEntriesIsDropped() throws {
        let node = try follower()
        #expect(Self.dropped(node, Message(type: .prop, to: 1, from: 3, term: 0)) == .emptyProposal)
    }

    @Test func wellShapedForwardedProposalIsForwardedToTheLeader() throws {
        let node = try follower()
        _ = node.ready()
        node.advance()
        try node.step(Message(type: .prop, to: 1, from: 3, term: 0, entries: [Entry(term: 0, index: 0, data: [1])]))
        let sent = node.ready().messages
        #expect(sent.contains { $0.type == .prop && $0.to == 2 && $0.term == 0 })
    }
}
