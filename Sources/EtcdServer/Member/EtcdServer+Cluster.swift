import EtcdProto
import Foundation
import Raft

/// The Cluster service and leadership moves: membership changes go through Raft as conf
/// changes (one at a time) and are answered once applied.
extension EtcdServer {
    /// The members; `linearizable` waits for a ReadIndex round first (etcd 3.5's linearizable list).
    public func memberList(linearizable: Bool = false) async throws(EtcdError) -> Etcdserverpb_MemberListResponse {
        if linearizable { try await linearizableReadBarrier() }
        var response = Etcdserverpb_MemberListResponse()
        response.header = header()
        response.header.revision = 0
        response.members = membersForResponse()
        return response
    }

    func membersForResponse() -> [Etcdserverpb_Member] {
        membership.members.map(Etcdserverpb_Member.init)
    }

    /// Adds a member (a voter or a learner) through the log, once etcd's checks pass.
    public func memberAdd(_ request: Etcdserverpb_MemberAddRequest) async throws(EtcdError) -> Etcdserverpb_MemberAddResponse {
        try requireVoter()
        let urls = try Self.memberURLs(request.peerUrls)
        guard !urls.isEmpty else { throw .memberBadURLs }
        // Like etcd: an added member's ID covers its URLs and the time of adding.
        let id = MemberIdentity.memberID(peerURLs: urls, clusterToken: "", addedAt: Int64(Date().timeIntervalSince1970))
        let member = Member(id: id, peerURLs: urls, isLearner: request.isLearner)
        if config.strictReconfigCheck && !member.isLearner && !enoughStartedToAddVoter() {
            throw .memberNotEnoughStarted
        }
        let changeID = requestIDs.next()
        let change: ConfChange
        do { change = try member.addChange(id: changeID) } catch { throw EtcdError(.internalError, "etcdserver: \(error)") }
        try await configure(change)
        var response = Etcdserverpb_MemberAddResponse()
        response.header = membershipHeader()
        response.member = Etcdserverpb_Member(member)
        response.members = membersForResponse()
        return response
    }

    /// Removes a member through the log.
    public func memberRemove(_ request: Etcdserverpb_MemberRemoveRequest) async throws(EtcdError) -> Etcdserverpb_MemberRemoveResponse {
        try requireVoter()
        if config.strictReconfigCheck, let member = membership.member(request.id), !member.isLearner,
            !enoughStartedToRemoveVoter(request.id)
        {
            throw .memberNotEnoughStarted
        }
        try await configure(ConfChange(id: requestIDs.next(), type: .removeNode, nodeID: request.id))
        var response = Etcdserverpb_MemberRemoveResponse()
        response.header = membershipHeader()
        response.members = membersForResponse()
        return response
    }

    /// Changes a member's peer URLs through the log.
    public func memberUpdate(_ request: Etcdserverpb_MemberUpdateRequest) async throws(EtcdError) -> Etcdserverpb_MemberUpdateResponse {
        try requireVoter()
        let urls = try Self.memberURLs(request.peerUrls)
        var context = Swetcdpb_StoredMember()
        context.id = request.id
        context.peerUrls = urls
        let bytes: [UInt8]
        do { bytes = try context.serializedBytes() } catch { throw EtcdError(.internalError, "etcdserver: \(error)") }
        try await configure(ConfChange(id: requestIDs.next(), type: .updateNode, nodeID: request.id, context: bytes))
        var response = Etcdserverpb_MemberUpdateResponse()
        response.header = membershipHeader()
        response.members = membersForResponse()
        return response
    }

    /// Promotes a learner that has caught up with the leader (only the leader can tell, so a
    /// follower forwards the request to it).
    public func memberPromote(_ request: Etcdserverpb_MemberPromoteRequest) async throws(EtcdError) -> Etcdserverpb_MemberPromoteResponse {
        try requireVoter()
        guard isLeader else {
            var response = try await forwardToLeader { try await $0.memberPromote(request) }
            response.header = membershipHeader()
            response.members = membersForResponse()
            return response
        }
        guard let member = membership.member(request.id) else { throw .memberNotFound }
        guard member.isLearner else { throw .memberNotLearner }
        let progress = await raft.progress()
        let leaderMatch = progress[memberID] ?? raft.committedIndex
        let learnerMatch = progress[request.id] ?? 0
        // etcd's rule: the learner has at least 90% of the leader's log.
        if leaderMatch > 0 && Double(learnerMatch) < 0.9 * Double(leaderMatch) { throw .learnerNotReady }
        var context = member.stored
        context.isLearner = false
        context.isPromote = true
        let bytes: [UInt8]
        do { bytes = try context.serializedBytes() } catch { throw EtcdError(.internalError, "etcdserver: \(error)") }
        try await configure(ConfChange(id: requestIDs.next(), type: .addNode, nodeID: request.id, context: bytes))
        var response = Etcdserverpb_MemberPromoteResponse()
        response.header = membershipHeader()
        response.members = membersForResponse()
        return response
    }

    /// Hands leadership to `target` and waits until it leads (leader only).
    public func moveLeader(to target: UInt64) async throws(EtcdError) {
        guard isLeader else { throw .notLeader }
        guard let member = membership.member(target), !member.isLearner else { throw .badLeaderTransferee }
        if target == memberID { return }
        raft.inbox.add(.transferLeadership(to: target))
        let deadline = ContinuousClock.now + requestTimeout
        while raft.leader != target {
            if ContinuousClock.now > deadline {
                throw EtcdError(.unavailable, "etcdserver: request timed out, leader transfer took too long")
            }
            try? await Task.sleep(for: config.heartbeatInterval)
        }
    }

    /// Proposes a membership change and waits until it was applied (or refused).
    private func configure(_ change: ConfChange) async throws(EtcdError) {
        _ = try await wait(for: change.id) { raft.inbox.add(.confChange(id: change.id, change)) }
    }

    /// The peer URLs of a MemberAdd or MemberUpdate, refused as etcd refuses them.
    private static func memberURLs(_ texts: [String]) throws(EtcdError) -> [String] {
        var urls: [String] = []
        for text in texts {
            guard let url = MemberURL.validated(text) else { throw .memberBadURLs }
            urls.append(url)
        }
        return urls
    }

    private func membershipHeader() -> Etcdserverpb_ResponseHeader {
        var header = header()
        header.revision = 0
        return header
    }

    /// Voting members this member hears from (it counts itself).
    private func startedVoters() -> [UInt64] {
        membership.members.filter { !$0.isLearner && ($0.id == memberID || !$0.name.isEmpty) }.map(\.id)
    }

    /// etcd's strict reconfiguration check for a new voter: the started voters must still be a
    /// quorum of the larger cluster.
    private func enoughStartedToAddVoter() -> Bool {
        let votersAfterAdd = membership.members.filter { !$0.isLearner }.count + 1
        let started = startedVoters().count
        // etcd's exception: a lone member may take a second voter (how a cluster restored
        // from a backup grows again), though the new one is not started yet.
        if started == 1 && votersAfterAdd == 2 { return true }
        return started >= votersAfterAdd / 2 + 1
    }

    /// ...and for removing a voter: the remaining started voters must be a quorum.
    private func enoughStartedToRemoveVoter(_ id: UInt64) -> Bool {
        let voters = membership.members.filter { !$0.isLearner }.count
        let started = startedVoters().filter { $0 != id }.count
        return started >= (voters - 1) / 2 + 1
    }
}

extension Etcdserverpb_Member {
    init(_ member: Member) {
        self.init()
        id = member.id
        name = member.name
        peerUrls = member.peerURLs
        clientUrls = member.clientURLs
        isLearner = member.isLearner
    }
}
