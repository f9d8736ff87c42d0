import Auth
import EtcdProto
import Foundation

/// The permissions a log request needs, checked against an auth state: by the member that
/// proposes it (to refuse early) and by every member when applying it (the check that
/// counts: it runs at the same point of the log everywhere).
enum RequestAuthorization {
    /// Refuses `request` unless `info` may do all of it under `state`. `leaseKeys` gives the
    /// keys attached to a lease.
    static func check(
        _ request: Swetcdpb_InternalRequest.OneOf_Request, as info: AuthInfo?, in state: AuthState,
        leaseKeys: (Int64) -> [[UInt8]]
    ) throws(AuthError) {
        guard state.enabled else { return }
        switch request {
        case .put(let put):
            try checkPut(put, as: info, in: state, leaseKeys: leaseKeys)
        case .deleteRange(let delete):
            try checkDelete(delete, as: info, in: state)
        case .txn(let txn):
            try checkTxn(txn, as: info, in: state, leaseKeys: leaseKeys)
        case .compaction:
            try state.checkAdmin(info)
        case .leaseGrant:
            try state.checkIdentified(info)
        case .leaseRevoke(let revoke):
            try checkLeaseWrite(revoke.id, as: info, in: state, leaseKeys: leaseKeys)
        case .authEnable, .authDisable, .authUserAdd, .authUserDelete, .authUserChangePassword, .authUserGrantRole,
            .authUserRevokeRole, .authRoleAdd, .authRoleDelete, .authRoleGrantPermission, .authRoleRevokePermission:
            try state.checkAdmin(info)
        case .authenticate, .leaseCheckpoint, .alarm, .memberAttributes, .clusterVersion:
            // Authenticate was checked by the password; the rest are the members' own.
            return
        }
    }

    /// A Range: read access to its whole range.
    static func checkRange(_ range: Etcdserverpb_RangeRequest, as info: AuthInfo?, in state: AuthState) throws(AuthError) {
        try state.check(info, .read, key: [UInt8](range.key), end: [UInt8](range.rangeEnd))
    }

    /// A Put: write access to the key, read access for its previous value, and write access
    /// to every key already attached to the lease it puts under (etcd 3.6).
    static func checkPut(
        _ put: Etcdserverpb_PutRequest, as info: AuthInfo?, in state: AuthState, leaseKeys: (Int64) -> [[UInt8]]
    ) throws(AuthError) {
        let key = [UInt8](put.key)
        try state.check(info, .write, key: key)
        if put.prevKv { try state.check(info, .read, key: key) }
        if put.lease != 0, let info, !state.isAdmin(info.username) {
            for attached in leaseKeys(put.lease) { try state.check(info, .write, key: attached) }
        }
    }

    /// A DeleteRange: write access to the range, read access too when it returns the
    /// deleted pairs.
    static func checkDelete(_ delete: Etcdserverpb_DeleteRangeRequest, as info: AuthInfo?, in state: AuthState) throws(AuthError) {
        let key = [UInt8](delete.key)
        let end = [UInt8](delete.rangeEnd)
        if delete.prevKv { try state.check(info, .read, key: key, end: end) }
        try state.check(info, .write, key: key, end: end)
    }

    /// A Txn: read access to every compared key, and every operation of both branches, at
    /// every depth, whichever branch would run.
    static func checkTxn(
        _ txn: Etcdserverpb_TxnRequest, as info: AuthInfo?, in state: AuthState, leaseKeys: (Int64) -> [[UInt8]]
    ) throws(AuthError) {
        for compare in txn.compare {
            try state.check(info, .read, key: [UInt8](compare.key), end: [UInt8](compare.rangeEnd))
        }
        for op in txn.success + txn.failure {
            switch op.request {
            case .requestRange(let range): try checkRange(range, as: info, in: state)
            case .requestPut(let put): try checkPut(put, as: info, in: state, leaseKeys: leaseKeys)
            case .requestDeleteRange(let delete): try checkDelete(delete, as: info, in: state)
            case .requestTxn(let nested): try checkTxn(nested, as: info, in: state, leaseKeys: leaseKeys)
            case nil: continue
            }
        }
    }

    /// Revoking or renewing a lease: the root role, or write access to each attached key.
    static func checkLeaseWrite(_ id: Int64, as info: AuthInfo?, in state: AuthState, leaseKeys: (Int64) -> [[UInt8]]) throws(AuthError) {
        try state.checkIdentified(info)
        if let info, state.isAdmin(info.username) { return }
        for key in leaseKeys(id) { try state.check(info, .write, key: key) }
    }

    /// Reading a lease's keys: the root role, or read access to each.
    static func checkLeaseRead(_ id: Int64, as info: AuthInfo?, in state: AuthState, leaseKeys: (Int64) -> [[UInt8]]) throws(AuthError) {
        try state.checkIdentified(info)
        if let info, state.isAdmin(info.username) { return }
        for key in leaseKeys(id) { try state.check(info, .read, key: key) }
    }
}

extension EtcdError {
    /// An auth refusal as the client sees it.
    init(_ error: AuthError) {
        self.init(error.code, error.message)
    }
}
