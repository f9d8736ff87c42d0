import EtcdProto
import Raft

/// A change to the membership carried by a configuration-change log entry.
enum MembershipChange: Equatable {
    case add(Member)

    /// Encodes the change as the data of a `.confChange` entry.
    var entryData: [UInt8] {
        get throws {
            switch self {
            case .add(let member):
                var stored = Swetcdpb_StoredMember()
                stored.id = member.id
                stored.name = member.name
                stored.peerUrls = member.peerURLs
                stored.clientUrls = member.clientURLs
                stored.isLearner = member.isLearner
                return try stored.serializedBytes()
            }
        }
    }

    init(entryData: [UInt8]) throws {
        let stored = try Swetcdpb_StoredMember(serializedBytes: entryData)
        self = .add(Member(
            id: stored.id, name: stored.name, peerURLs: stored.peerUrls, clientURLs: stored.clientUrls,
            isLearner: stored.isLearner))
    }
}
