import EtcdProto
import Foundation
import FuzzSupport
import Raft

/// Seeds: what peers send a follower, a candidate and a leader in an ordinary term, each
/// as bare messages and as one `RaftBatch`.
extension PeerTarget {
    static func seeds() throws -> [(name: String, input: [UInt8])] {
        let entries = [Entry(term: 3, index: 6, data: [7]), Entry(term: 3, index: 7, type: .confChange, data: ConfChange(type: .addNode, nodeID: 4).encoded())]
        let follower = [
            Message(type: .heartbeat, to: 1, from: 2, term: 3, commit: 4),
            Message(type: .app, to: 1, from: 2, term: 3, logTerm: 2, index: 5, entries: entries, commit: 7),
            Message(type: .app, to: 1, from: 2, term: 3, logTerm: 9, index: 9, commit: 9),
            Message(type: .preVote, to: 1, from: 3, term: 4, logTerm: 3, index: 7),
            Message(type: .vote, to: 1, from: 3, term: 4, logTerm: 3, index: 7),
            Message(type: .timeoutNow, to: 1, from: 2, term: 4),
            Message(type: .readIndexResp, to: 1, from: 2, term: 4, index: 7, entries: [Entry(term: 0, index: 0, data: [1])]),
        ]
        let candidate = [
            Message(type: .preVoteResp, to: 1, from: 3, term: 3),
            Message(type: .voteResp, to: 1, from: 3, term: 3, reject: true),
            Message(type: .app, to: 1, from: 3, term: 3, logTerm: 2, index: 5, commit: 5),
        ]
        let leader = [
            Message(type: .appResp, to: 1, from: 2, term: 3, index: 6),
            Message(type: .appResp, to: 1, from: 3, term: 3, index: 6, reject: true, rejectHint: 2, context: []),
            Message(type: .heartbeatResp, to: 1, from: 3, term: 3, context: [0, 0, 0, 1]),
            Message(type: .readIndex, to: 1, from: 2, term: 0, entries: [Entry(term: 0, index: 0, data: [9])]),
            Message(type: .prop, to: 1, from: 2, entries: [Entry(term: 0, index: 0, data: [1, 2, 3])]),
            Message(type: .transferLeader, to: 1, from: 3, term: 3),
        ]
        var seeds: [(name: String, input: [UInt8])] = []
        for (role, name, messages) in [(UInt8(0), "follower", follower), (1, "candidate", candidate), (2, "leader", leader)] {
            let records: [UInt8] = messages.flatMap { [UInt8(0)] + FuzzInput.chunk($0.encoded()) }
            seeds.append(("\(name)-messages", [role << 1] + records))
            var batch = Swetcdpb_RaftBatch()
            batch.header.from = 2
            batch.header.to = 1
            batch.header.clusterID = 1
            batch.messages = messages.map { Data($0.encoded()) }
            seeds.append(("\(name)-batch", [role << 1 | 1, 1] + FuzzInput.chunk(try batch.serializedBytes())))
        }
        return seeds
    }
}
