import Auth
import EtcdProto

/// Applying a request under auth: the permissions it needs are checked first, against the
/// auth state at this point of the log, so every member decides alike; changes to users,
/// roles and permissions go to the auth store.
extension EntryApplier {
    func applyAuthorized(_ request: Swetcdpb_InternalRequest, at index: UInt64) throws -> Result<ApplyResult, EtcdError> {
        guard let body = request.request else { return try applyRequest(request, at: index) }
        // Proposals nobody waits for are the member's own housekeeping (revoking expired
        // leases), which etcd also runs with root's rights.
        if request.header.id != 0 {
            let info = AuthInfo(username: request.header.username, revision: request.header.authRevision)
            do {
                try RequestAuthorization.check(body, as: info, in: auth.state, leaseKeys: { [lessor] in lessor.lookup($0)?.keys ?? [] })
            } catch {
                return .failure(EtcdError(error))
            }
        }
        return try applyRequest(request, at: index)
    }

    /// Applies a change to users, roles, permissions or the enabled flag (or issues a token).
    func applyAuthChange(_ change: AuthChange, at index: UInt64) throws -> Result<ApplyResult, EtcdError> {
        do {
            try auth.apply(change, index: index, in: backend.batch)
        } catch let error as AuthError {
            return .failure(EtcdError(error))
        }
        if case .authenticate(_, let token) = change { return .success(.authenticated(token: "\(token).\(index)")) }
        return .success(.none)
    }
}

extension AuthChange {
    /// The auth change a log request makes; nil for every other request.
    init?(_ request: Swetcdpb_InternalRequest.OneOf_Request) {
        switch request {
        case .authEnable: self = .enable
        case .authDisable: self = .disable
        case .authenticate(let authenticate): self = .authenticate(name: authenticate.name, token: authenticate.simpleToken)
        case .authUserAdd(let add): self = .userAdd(add)
        case .authUserDelete(let delete): self = .userDelete(delete.name)
        case .authUserChangePassword(let change): self = .userChangePassword(change)
        case .authUserGrantRole(let grant): self = .userGrantRole(user: grant.user, role: grant.role)
        case .authUserRevokeRole(let revoke): self = .userRevokeRole(user: revoke.name, role: revoke.role)
        case .authRoleAdd(let add): self = .roleAdd(add.name)
        case .authRoleDelete(let delete): self = .roleDelete(delete.role)
        case .authRoleGrantPermission(let grant): self = .roleGrantPermission(role: grant.name, grant.perm)
        case .authRoleRevokePermission(let revoke): self = .roleRevokePermission(role: revoke.role, key: revoke.key, end: revoke.rangeEnd)
        case .put, .deleteRange, .txn, .compaction, .leaseGrant, .leaseRevoke, .leaseCheckpoint, .alarm, .memberAttributes,
            .clusterVersion:
            return nil
        }
    }
}
