import EtcdProto
import FuzzSupport
import Raft

/// Peer traffic into member 1 of a 3-member cluster, stepped as the Raft loop steps it.
/// The first byte picks the form (even: Raft messages, odd: `RaftBatch`es as the peer
/// service receives them) and, in its next bits, the member's role when traffic starts.
/// Then come records: a byte (odd: tick the node first) and a chunk holding one encoded
/// message or batch.
enum PeerTarget: FuzzTarget {
    static let maxRecords = 32

    static func run(_ input: [UInt8]) {
        var reader = FuzzInput(input)
        let form = reader.byte()
        let member = PeerMember(role: form >> 1)
        for _ in 0..<maxRecords where !reader.isAtEnd {
            if reader.byte() & 1 == 1 { member.tick() }
            let chunk = reader.chunk()
            if form & 1 == 0 {
                // A message the codec refuses never reaches Raft (the peer service refuses the batch).
                guard let message = try? Message(decoding: chunk) else { continue }
                member.receive([message])
            } else {
                guard let batch = try? Swetcdpb_RaftBatch(serializedBytes: chunk) else { continue }
                guard let messages = try? batch.messages.map({ try Message(decoding: [UInt8]($0)) }) else { continue }
                member.receive(messages)
            }
        }
    }
}

/// Member 1 of {1, 2, 3} with a short log, doing what the Raft loop does with each `Ready`
/// (persist, apply membership changes, advance) minus the I/O.
final class PeerMember {
    let storage = MemoryStorage()
    let node: RawNode

    /// `role` 0 (or any other): follower; 1: candidate; 2: leader (won a vote at term 3).
    init(role: UInt8) {
        do {
            let voters = ConfState(voters: [1, 2, 3])
            try storage.applySnapshot(Snapshot(metadata: SnapshotMetadata(confState: voters, index: 2, term: 1)))
            storage.append([Entry(term: 1, index: 3), Entry(term: 2, index: 4, data: [1, 2]), Entry(term: 2, index: 5)])
            storage.setHardState(HardState(term: 2, vote: 2, commit: 4))
            // The server's settings (Bootstrap.assemble).
            let config = Config(
                id: 1, electionTick: 10, heartbeatTick: 1, applied: 2, maxSizePerMsg: 1 << 20, maxInflightMsgs: 512,
                maxUncommittedEntriesSize: 1 << 30, checkQuorum: true, preVote: true, seed: 1)
            node = try RawNode(config: config, storage: storage)
            if role % 4 == 1 || role % 4 == 2 { try node.campaign() }
            process()
            if role % 4 == 2 {
                // Win the pre-vote, then the vote.
                receive([Message(type: .preVoteResp, to: 1, from: 2, term: 3)])
                receive([Message(type: .voteResp, to: 1, from: 2, term: 3)])
            }
        } catch {
            fatalError("cannot set up the member: \(error)")
        }
    }

    func tick() {
        node.tick()
        process()
    }

    /// A batch from the peer service: each message stepped (errors ignored, as the loop does).
    func receive(_ messages: [Message]) {
        for message in messages { try? node.step(message) }
        process()
    }

    private func process() {
        while node.hasReady() {
            let ready = node.ready()
            if let snapshot = ready.snapshot, !snapshot.isEmpty {
                // The loop stops the member when Raft installs a snapshot whose database did not
                // arrive on the snapshot stream (RaftNode.installSnapshot): a crash to find.
                fatalError("Raft installed snapshot \(snapshot.metadata.index) from the Raft stream: the member stops")
            }
            if let hardState = ready.hardState { storage.setHardState(hardState) }
            if !ready.entries.isEmpty { storage.append(ready.entries) }
            for entry in ready.committedEntries where entry.type != .normal {
                // A change the membership refuses is not applied; one that does not decode stops
                // the member in EntryApplier, but only a leader's committed entry can be that.
                guard let change = try? entry.decodeConfChange() else { continue }
                _ = try? node.applyConfChange(change)
            }
            node.advance()
        }
    }
}
