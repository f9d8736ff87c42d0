import EtcdProto
import EtcdServer
import Foundation

/// etcd's leader election (v3election, on clientv3's concurrency.Election): candidates put a
/// key under `name/` on their lease; the leader is the key created first.
extension EtcdServer {
    static let notLeader = EtcdError(kind: .electionNotLeader)
    static let noLeader = EtcdError(kind: .electionNoLeader)
    static let missingLeaderKey = EtcdError(.unknown, "\"leader\" field must be provided")

    /// Election.Campaign: waits until the request's lease holds the election, then answers its leader key.
    public func campaign(_ request: V3electionpb_CampaignRequest, as caller: Credentials = .none) async throws(EtcdError) -> V3electionpb_CampaignResponse {
        try await Self.asRecipeError(as: caller) { () async throws(EtcdError) in try await electionCampaign(request) }
    }

    /// Election.Proclaim: the leader sets a new value.
    public func proclaim(_ request: V3electionpb_ProclaimRequest, as caller: Credentials = .none) async throws(EtcdError) -> V3electionpb_ProclaimResponse {
        try await Self.asRecipeError(as: caller) { () async throws(EtcdError) in try await electionProclaim(request) }
    }

    /// Election.Resign: the leader gives up leadership (its key is deleted).
    public func resign(_ request: V3electionpb_ResignRequest, as caller: Credentials = .none) async throws(EtcdError) -> V3electionpb_ResignResponse {
        try await Self.asRecipeError(as: caller) { () async throws(EtcdError) in try await electionResign(request) }
    }

    /// Election.Leader: the current leader's key-value.
    public func leader(_ request: V3electionpb_LeaderRequest, as caller: Credentials = .none) async throws(EtcdError) -> V3electionpb_LeaderResponse {
        try await Self.asRecipeError(as: caller) { () async throws(EtcdError) in try await electionLeader(request) }
    }

    private func electionCampaign(_ request: V3electionpb_CampaignRequest) async throws(EtcdError) -> V3electionpb_CampaignResponse {
        var request = request
        request.lease = try await sessionLease(request.lease)
        let prefix = request.name + Data("/".utf8)
        let key = Self.ownerKey(prefix: prefix, lease: request.lease)
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [Self.createRevisionIs(key, 0)]
        txn.success = [Self.putOp(key, request.value, lease: request.lease)]
        txn.failure = [Self.getOp(key)]
        let response = try await self.txn(txn, as: Self.recipeCaller)

        var leader = V3electionpb_LeaderKey()
        leader.name = request.name
        leader.key = key
        leader.lease = request.lease
        leader.rev = response.header.revision
        if !response.succeeded, let existing = response.responses[0].rangeResponse.kvs.first {
            leader.rev = existing.createRevision
            if existing.value != request.value {
                var proclaim = V3electionpb_ProclaimRequest()
                proclaim.leader = leader
                proclaim.value = request.value
                do {
                    _ = try await self.electionProclaim(proclaim)
                } catch {
                    _ = try? await resign(leader)
                    throw error
                }
            }
        }
        do {
            _ = try await waitDeletes(prefix: prefix, maxCreateRevision: leader.rev - 1)
        } catch {
            if Task.isCancelled { _ = try? await resign(leader) }
            throw error
        }
        var answer = V3electionpb_CampaignResponse()
        answer.header = response.header
        answer.leader = leader
        return answer
    }

    private func electionProclaim(_ request: V3electionpb_ProclaimRequest) async throws(EtcdError) -> V3electionpb_ProclaimResponse {
        guard request.hasLeader else { throw Self.missingLeaderKey }
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [Self.createRevisionIs(request.leader.key, request.leader.rev)]
        txn.success = [Self.putOp(request.leader.key, request.value, lease: request.leader.lease)]
        let response = try await self.txn(txn, as: Self.recipeCaller)
        guard response.succeeded else { throw Self.notLeader }
        var answer = V3electionpb_ProclaimResponse()
        answer.header = response.header
        return answer
    }

    private func electionResign(_ request: V3electionpb_ResignRequest) async throws(EtcdError) -> V3electionpb_ResignResponse {
        guard request.hasLeader else { throw Self.missingLeaderKey }
        let header = try await resign(request.leader)
        var answer = V3electionpb_ResignResponse()
        answer.header = header
        return answer
    }

    private func resign(_ leader: V3electionpb_LeaderKey) async throws(EtcdError) -> Etcdserverpb_ResponseHeader {
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [Self.createRevisionIs(leader.key, leader.rev)]
        txn.success = [Self.deleteOp(leader.key)]
        return try await self.txn(txn, as: Self.recipeCaller).header
    }

    private func electionLeader(_ request: V3electionpb_LeaderRequest) async throws(EtcdError) -> V3electionpb_LeaderResponse {
        let found = try await keyByCreation(prefix: request.name + Data("/".utf8), first: true)
        guard let kv = found.kvs.first else { throw Self.noLeader }
        var answer = V3electionpb_LeaderResponse()
        answer.header = found.header
        answer.kv = kv
        return answer
    }

    /// Every leader value of the election, in order: the current leader (or the first to
    /// come), each of its proclamations, and the next leader once it resigns or its lease ends.
    public func observe(
        _ request: V3electionpb_LeaderRequest, as caller: Credentials = .none, _ send: (V3electionpb_LeaderResponse) async throws -> Void
    ) async throws {
        try await Self.$recipeCaller.withValue(caller) { try await observeLeaders(request, send) }
    }

    private func observeLeaders(_ request: V3electionpb_LeaderRequest, _ send: (V3electionpb_LeaderResponse) async throws -> Void) async throws {
        let prefix = request.name + Data("/".utf8)
        while !Task.isCancelled {
            let current = try await keyByCreation(prefix: prefix, first: true)
            var header = current.header
            var leaderKV: Mvccpb_KeyValue
            if let kv = current.kvs.first {
                leaderKV = kv
            } else {
                (header, leaderKV) = try await firstPut(under: prefix, from: current.header.revision)
            }
            var answer = V3electionpb_LeaderResponse()
            answer.header = header
            answer.kv = leaderKV
            try await send(answer)
            try await followLeader(key: leaderKV.key, from: header.revision + 1, send)
        }
    }

    /// Waits for the first put under `prefix` from `revision`.
    private func firstPut(under prefix: Data, from revision: Int64) async throws -> (Etcdserverpb_ResponseHeader, Mvccpb_KeyValue) {
        let stream = makeWatchStream()
        defer { stream.close() }
        stream.watch(id: nil, key: prefix, rangeEnd: Self.prefixEnd(prefix), startRevision: revision)
        while let output = await withTaskCancellationHandler(operation: { await stream.next() }, onCancel: { stream.close() }) {
            guard case .events(_, let events, let revision, _) = output else { continue }
            if let put = events.first(where: { $0.type == .put }) {
                var header = watchHeader(revision: revision)
                header.revision = put.kv.modRevision
                return (header, put.kv)
            }
        }
        throw CancellationError()
    }

    /// Sends every new value of the leader key until it is deleted.
    private func followLeader(key: Data, from revision: Int64, _ send: (V3electionpb_LeaderResponse) async throws -> Void) async throws {
        let stream = makeWatchStream()
        defer { stream.close() }
        stream.watch(id: nil, key: key, rangeEnd: Data(), startRevision: revision)
        while let output = await withTaskCancellationHandler(operation: { await stream.next() }, onCancel: { stream.close() }) {
            guard case .events(_, let events, let revision, _) = output else { continue }
            for event in events {
                if event.type == .delete { return }
                var answer = V3electionpb_LeaderResponse()
                answer.header = watchHeader(revision: revision)
                answer.kv = event.kv
                try await send(answer)
            }
        }
        throw CancellationError()
    }
}
