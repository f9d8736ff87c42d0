import EtcdProto
import Raft

/// The Raft loop following leadership and what was applied: lease time moves with the
/// leader, membership changes reach Raft's configuration and the transport.
extension RaftNode {
    func leadershipChanged(_ soft: SoftState) {
        let previous = currentLeader.exchange(soft.lead, ordering: .acquiringAndReleasing)
        let isLeader = soft.raftState == .leader
        leading.store(isLeader, ordering: .releasing)
        metrics.hasLeader.record(soft.lead == 0 ? 0 : 1)
        metrics.isLeader.record(isLeader ? 1 : 0)
        guard previous != soft.lead else { return }
        reads.leaderChanged()
        if soft.lead != 0 {
            metrics.leaderChanges.increment()
            logger.info(
                "raft.node: elected leader",
                metadata: ["local-member-id": "\(hex(id))", "leader": "\(hex(soft.lead))", "term": "\(node.term)"])
        } else {
            logger.info("raft.node: lost leader", metadata: ["local-member-id": "\(hex(id))", "term": "\(node.term)"])
        }
        if isLeader {
            // The new leader keeps lease time; every lease gets its full TTL plus an election
            // timeout, so none expires merely because leadership moved.
            lessor.promote(extend: settings.electionTimeout)
            if membership.version == nil { proposeClusterVersion() }
        } else {
            lessor.demote()
        }
    }

    /// A new cluster's first leader records the cluster version (etcd's, so clients and
    /// tools that read it see a version they know).
    private func proposeClusterVersion() {
        logger.info("setting up initial cluster version", metadata: ["cluster-version": "\(ServerVersion.clusterMinor)"])
        var request = Swetcdpb_InternalRequest()
        var version = Swetcdpb_ClusterVersion()
        version.version = ServerVersion.cluster
        request.clusterVersion = version
        guard let data: [UInt8] = try? request.serializedBytes() else { return }
        // Through the inbox: this runs while a Ready is being handled.
        inbox.add(.proposal(id: 0, data: data))
    }

    /// Follows what applying a batch did: Raft's configuration, the peers the transport
    /// links to, whether the member published itself or was removed.
    func follow(_ effects: AppliedEffects) throws {
        for change in effects.confChanges {
            confState = try node.applyConfChange(change)
            configurationChanged = true
        }
        for (change, member) in effects.membershipChanges { followMembershipChange(change, member) }
        if effects.publishedLocalMember { published.store(true, ordering: .releasing) }
    }

    private func followMembershipChange(_ change: ConfChange, _ member: Member?) {
        switch change.type {
        case .addNode, .addLearnerNode:
            if let member, !member.peerURLs.isEmpty, member.id != id { transport.addPeer(member.id, urls: member.peerURLs) }
        case .updateNode:
            if let member, change.nodeID != id { transport.addPeer(change.nodeID, urls: member.peerURLs) }
        case .removeNode:
            if change.nodeID == id {
                logger.warning("the member has been permanently removed from the cluster; shutting down")
                // Like etcd, linger ten heartbeats so the removal reaches the others first.
                stopRequests.request(.removed(linger: settings.heartbeat * 10))
            } else {
                transport.removePeer(change.nodeID)
            }
        }
    }
}
