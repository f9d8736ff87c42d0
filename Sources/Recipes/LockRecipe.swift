import EtcdProto
import EtcdServer
import Foundation

/// etcd's distributed lock (v3lock, on clientv3's concurrency.Mutex): the holder is the
/// session key under `name/` created first; others wait for the keys created before theirs
/// to be deleted. The key's creation revision is a fencing token.
extension EtcdServer {
    /// Lock.Lock: waits until the request's lease holds the lock, then answers the key that holds it.
    public func lock(_ request: V3lockpb_LockRequest, as caller: Credentials = .none) async throws(EtcdError) -> V3lockpb_LockResponse {
        try await Self.asRecipeError(as: caller) { () async throws(EtcdError) in try await mutexLock(request) }
    }

    /// Lock.Unlock: releases the lock held by the key.
    public func unlock(_ request: V3lockpb_UnlockRequest, as caller: Credentials = .none) async throws(EtcdError) -> V3lockpb_UnlockResponse {
        try await Self.asRecipeError(as: caller) { () async throws(EtcdError) in try await mutexUnlock(request) }
    }

    private func mutexLock(_ request: V3lockpb_LockRequest) async throws(EtcdError) -> V3lockpb_LockResponse {
        var request = request
        request.lease = try await sessionLease(request.lease)
        let prefix = request.name + Data("/".utf8)
        let myKey = Self.ownerKey(prefix: prefix, lease: request.lease)

        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [Self.createRevisionIs(myKey, 0)]
        txn.success = [Self.putOp(myKey, Data(), lease: request.lease), Self.firstCreatedOp(prefix)]
        txn.failure = [Self.getOp(myKey), Self.firstCreatedOp(prefix)]
        let response = try await self.txn(txn, as: Self.recipeCaller)

        var myRevision = response.header.revision
        if !response.succeeded, let mine = response.responses[0].rangeResponse.kvs.first {
            myRevision = mine.createRevision
        }
        let owner = response.responses[1].rangeResponse.kvs.first
        var header = response.header
        if let owner, owner.createRevision != myRevision {
            do {
                _ = try await waitDeletes(prefix: prefix, maxCreateRevision: myRevision - 1)
            } catch {
                var unlock = V3lockpb_UnlockRequest()
                unlock.key = myKey
                _ = try? await self.mutexUnlock(unlock)
                throw error
            }
            // The session may have expired while waiting: the key must still be there.
            var get = Etcdserverpb_RangeRequest()
            get.key = myKey
            let mine = try await range(get, as: Self.recipeCaller)
            guard !mine.kvs.isEmpty else { throw EtcdError(.unknown, "mutex: session is expired") }
            header = mine.header
        }
        var answer = V3lockpb_LockResponse()
        answer.header = header
        answer.key = myKey
        return answer
    }

    private func mutexUnlock(_ request: V3lockpb_UnlockRequest) async throws(EtcdError) -> V3lockpb_UnlockResponse {
        var delete = Etcdserverpb_DeleteRangeRequest()
        delete.key = request.key
        let deleted = try await deleteRange(delete, as: Self.recipeCaller)
        var answer = V3lockpb_UnlockResponse()
        answer.header = deleted.header
        return answer
    }
}
