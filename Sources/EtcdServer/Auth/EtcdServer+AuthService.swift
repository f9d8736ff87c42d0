import Auth
import EtcdProto
import Foundation
import SwiftProtobuf

/// The Auth service. Changes go through the log and are checked (root role) where they
/// are applied; reads of users and roles follow a ReadIndex round, as etcd's go through
/// its log. Passwords are hashed, and checked, on the bcrypt queue before anything is
/// proposed: the log never holds a plain password.
extension EtcdServer {
    /// Turns auth on (root role only once on; needs a `root` user holding the `root` role).
    public func authEnable(as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthEnableResponse {
        try await authChange(.authEnable(Etcdserverpb_AuthEnableRequest()), as: caller)
    }

    /// Turns auth off and drops every simple token (root role only).
    public func authDisable(as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthDisableResponse {
        try await authChange(.authDisable(Etcdserverpb_AuthDisableRequest()), as: caller)
    }

    /// Whether auth is on and its revision (root role only, as in etcd 3.6).
    public func authStatus(as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthStatusResponse {
        try await authRead(as: caller) { state, info throws(AuthError) in
            try state.checkAdmin(info)
            var response = Etcdserverpb_AuthStatusResponse()
            response.enabled = state.enabled
            response.authRevision = state.revision
            return response
        }
    }

    /// Checks a user's password and issues a token.
    public func authenticate(_ request: Etcdserverpb_AuthenticateRequest) async throws(EtcdError) -> Etcdserverpb_AuthenticateResponse {
        try requireVoter()
        // A change of the auth state while the password was checked (a new password, the
        // user deleted) makes the check stale: check again, as etcd does.
        for _ in 0..<3 {
            try await linearizableReadBarrier()
            let state = auth.state
            guard state.enabled else { throw EtcdError(kind: .authNotEnabled) }
            guard let user = state.users[request.name] else { throw EtcdError(kind: .authFailed) }
            if user.options.noPassword { throw EtcdError(AuthError.noPasswordUser) }
            let matches: Bool
            do {
                matches = try await passwords.verify(Array(request.password.utf8), hash: String(decoding: user.password, as: UTF8.self))
            } catch {
                throw EtcdError(error)
            }
            guard matches else {
                logger.info("invalid password", metadata: ["user-name": "\(request.name)"])
                throw EtcdError(kind: .authFailed)
            }
            guard auth.state.revision == state.revision else { continue }
            var response = Etcdserverpb_AuthenticateResponse()
            switch tokens {
            case .none:
                throw EtcdError(kind: .authFailed)
            case .jwt(let jwt):
                do { response.token = try jwt.sign(username: request.name, revision: state.revision) } catch {
                    throw EtcdError(AuthError.verifyOnly)
                }
            case .simple:
                var authenticate = Swetcdpb_Authenticate()
                authenticate.name = request.name
                authenticate.simpleToken = SimpleTokens.randomPrefix()
                guard case .authenticated(let token) = try await propose(.authenticate(authenticate)) else {
                    throw EtcdError(.internalError, "etcdserver: unexpected apply result")
                }
                response.token = token
            }
            fill(&response.header)
            return response
        }
        throw EtcdError(kind: .authFailed)
    }

    /// Adds a user, with a password (hashed here) or, with `no_password`, for certificates only.
    public func userAdd(_ request: Etcdserverpb_AuthUserAddRequest, as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthUserAddResponse {
        var request = request
        if !request.options.noPassword && request.hashedPassword.isEmpty {
            request.hashedPassword = try await hashed(request.password)
        }
        request.password = ""
        return try await authChange(.authUserAdd(request), as: caller)
    }

    /// A user's roles (root role, or the user itself).
    public func userGet(_ request: Etcdserverpb_AuthUserGetRequest, as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthUserGetResponse {
        try await authRead(as: caller) { state, info throws(AuthError) in
            // Users may read their own entry.
            if info?.username != request.name { try state.checkAdmin(info) }
            guard let user = state.users[request.name] else { throw AuthError(.userNotFound) }
            var response = Etcdserverpb_AuthUserGetResponse()
            response.roles = user.roles
            return response
        }
    }

    /// Every user's name, bytewise sorted (root role only).
    public func userList(as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthUserListResponse {
        try await authRead(as: caller) { state, info throws(AuthError) in
            try state.checkAdmin(info)
            var response = Etcdserverpb_AuthUserListResponse()
            response.users = Self.bytewiseSorted(state.users.keys)
            return response
        }
    }

    /// Deletes a user and its simple tokens (root role only; never `root` while auth is on).
    public func userDelete(_ request: Etcdserverpb_AuthUserDeleteRequest, as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthUserDeleteResponse {
        try await authChange(.authUserDelete(request), as: caller)
    }

    /// Sets a user's password (hashed here) and drops its simple tokens (root role only).
    public func userChangePassword(
        _ request: Etcdserverpb_AuthUserChangePasswordRequest, as caller: Credentials
    ) async throws(EtcdError) -> Etcdserverpb_AuthUserChangePasswordResponse {
        var request = request
        if request.hashedPassword.isEmpty { request.hashedPassword = try await hashed(request.password) }
        request.password = ""
        return try await authChange(.authUserChangePassword(request), as: caller)
    }

    /// Grants a user a role (root role only).
    public func userGrantRole(
        _ request: Etcdserverpb_AuthUserGrantRoleRequest, as caller: Credentials
    ) async throws(EtcdError) -> Etcdserverpb_AuthUserGrantRoleResponse {
        try await authChange(.authUserGrantRole(request), as: caller)
    }

    /// Takes a role from a user (root role only).
    public func userRevokeRole(
        _ request: Etcdserverpb_AuthUserRevokeRoleRequest, as caller: Credentials
    ) async throws(EtcdError) -> Etcdserverpb_AuthUserRevokeRoleResponse {
        try await authChange(.authUserRevokeRole(request), as: caller)
    }

    /// Adds a role without permissions (root role only).
    public func roleAdd(_ request: Etcdserverpb_AuthRoleAddRequest, as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthRoleAddResponse {
        try await authChange(.authRoleAdd(request), as: caller)
    }

    /// A role's permissions (root role, or a user holding the role).
    public func roleGet(_ request: Etcdserverpb_AuthRoleGetRequest, as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthRoleGetResponse {
        try await authRead(as: caller) { state, info throws(AuthError) in
            // Users may read the roles they hold.
            let holds = info.flatMap { state.users[$0.username] }?.roles.contains(request.role) ?? false
            if !holds { try state.checkAdmin(info) }
            guard let role = state.roles[request.role] else { throw AuthError(.roleNotFound) }
            var response = Etcdserverpb_AuthRoleGetResponse()
            if request.role == AuthState.root {
                // The root role can do everything, whatever it stores (etcd 3.6).
                var everything = Authpb_Permission()
                everything.permType = .readwrite
                everything.rangeEnd = Data([0])
                response.perm = [everything]
            } else {
                response.perm = role.keyPermission
            }
            return response
        }
    }

    /// Every role's name, bytewise sorted (root role only).
    public func roleList(as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthRoleListResponse {
        try await authRead(as: caller) { state, info throws(AuthError) in
            try state.checkAdmin(info)
            var response = Etcdserverpb_AuthRoleListResponse()
            response.roles = Self.bytewiseSorted(state.roles.keys)
            return response
        }
    }

    /// Deletes a role and takes it from every user (root role only).
    public func roleDelete(_ request: Etcdserverpb_AuthRoleDeleteRequest, as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_AuthRoleDeleteResponse {
        try await authChange(.authRoleDelete(request), as: caller)
    }

    /// Grants a role access to a key or range (root role only).
    public func roleGrantPermission(
        _ request: Etcdserverpb_AuthRoleGrantPermissionRequest, as caller: Credentials
    ) async throws(EtcdError) -> Etcdserverpb_AuthRoleGrantPermissionResponse {
        guard request.hasPerm else { throw EtcdError(AuthError.permissionNotGiven) }
        return try await authChange(.authRoleGrantPermission(request), as: caller)
    }

    /// Removes a role's permissions on exactly this key and range end (root role only).
    public func roleRevokePermission(
        _ request: Etcdserverpb_AuthRoleRevokePermissionRequest, as caller: Credentials
    ) async throws(EtcdError) -> Etcdserverpb_AuthRoleRevokePermissionResponse {
        try await authChange(.authRoleRevokePermission(request), as: caller)
    }

    // MARK: Shapes

    /// Proposes an auth change for `caller` and answers with the header once applied.
    private func authChange<Response: AuthServiceResponse>(
        _ request: Swetcdpb_InternalRequest.OneOf_Request, as caller: Credentials
    ) async throws(EtcdError) -> Response {
        try requireVoter()
        let info = try await completion { authorized(request, as: caller, $0) }
        _ = try await propose(request, as: info)
        var response = Response()
        fill(&response.header)
        return response
    }

    /// A read of the auth state after a ReadIndex round, header filled.
    private func authRead<Response: AuthServiceResponse>(
        as caller: Credentials, _ body: (AuthState, AuthInfo?) throws(AuthError) -> Response
    ) async throws(EtcdError) -> Response {
        try requireVoter()
        let info = try await identify(caller)
        try await linearizableReadBarrier()
        var response: Response
        do { response = try body(auth.state, info) } catch { throw EtcdError(error) }
        fill(&response.header)
        return response
    }

    /// A bcrypt hash of `password` as the log carries it (base64, as etcd 3.5+ does).
    private func hashed(_ password: String) async throws(EtcdError) -> String {
        do {
            return Data(try await passwords.hash(Array(password.utf8)).utf8).base64EncodedString()
        } catch {
            throw EtcdError(error)
        }
    }

    private static func bytewiseSorted(_ names: [String]) -> [String] {
        names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}

/// A response of the Auth service: a header, and for reads what was read.
protocol AuthServiceResponse: SwiftProtobuf.Message {
    var header: Etcdserverpb_ResponseHeader { get set }
}

extension Etcdserverpb_AuthEnableResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthDisableResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthStatusResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthUserAddResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthUserGetResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthUserListResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthUserDeleteResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthUserChangePasswordResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthUserGrantRoleResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthUserRevokeRoleResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthRoleAddResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthRoleGetResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthRoleListResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthRoleDeleteResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthRoleGrantPermissionResponse: AuthServiceResponse {}
extension Etcdserverpb_AuthRoleRevokePermissionResponse: AuthServiceResponse {}
