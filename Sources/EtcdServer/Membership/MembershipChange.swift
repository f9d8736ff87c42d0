import EtcdProto
import Raft

extension Member {
    /// The member as carried in a conf change's context and stored in the backend.
    var stored: Swetcdpb_StoredMember {
        var stored = Swetcdpb_StoredMember()
        stored.id = id
        stored.name = name
        stored.peerUrls = peerURLs
        stored.clientUrls = clientURLs
        stored.isLearner = isLearner
        return stored
    }

    init(_ stored: Swetcdpb_StoredMember) {
        self.init(
            id: stored.id, name: stored.name, peerURLs: stored.peerUrls, clientURLs: stored.clientUrls,
            isLearner: stored.isLearner)
    }

    /// A Raft conf change that adds this member (as a learner if it is one).
    func addChange(id requestID: UInt64 = 0) throws -> ConfChange {
        ConfChange(
            id: requestID, type: isLearner ? .addLearnerNode : .addNode, nodeID: id, context: try stored.serializedBytes())
    }
}
