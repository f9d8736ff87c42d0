import EtcdProto
import EtcdServer

/// etcd's `/v3/auth/*` gateway paths.
extension Gateway {
    static let authRoutes: [String: Route] = [
        "/v3/auth/enable": unary(Etcdserverpb_AuthEnableRequest.self) { server, _, caller in try await server.authEnable(as: caller) },
        "/v3/auth/disable": unary(Etcdserverpb_AuthDisableRequest.self) { server, _, caller in try await server.authDisable(as: caller) },
        "/v3/auth/status": unary(Etcdserverpb_AuthStatusRequest.self) { server, _, caller in try await server.authStatus(as: caller) },
        "/v3/auth/authenticate": unary(Etcdserverpb_AuthenticateRequest.self) { server, request, _ in try await server.authenticate(request) },
        "/v3/auth/user/add": unary(Etcdserverpb_AuthUserAddRequest.self) { try await $0.userAdd($1, as: $2) },
        "/v3/auth/user/get": unary(Etcdserverpb_AuthUserGetRequest.self) { try await $0.userGet($1, as: $2) },
        "/v3/auth/user/list": unary(Etcdserverpb_AuthUserListRequest.self) { server, _, caller in try await server.userList(as: caller) },
        "/v3/auth/user/delete": unary(Etcdserverpb_AuthUserDeleteRequest.self) { try await $0.userDelete($1, as: $2) },
        "/v3/auth/user/changepw": unary(Etcdserverpb_AuthUserChangePasswordRequest.self) { try await $0.userChangePassword($1, as: $2) },
        "/v3/auth/user/grant": unary(Etcdserverpb_AuthUserGrantRoleRequest.self) { try await $0.userGrantRole($1, as: $2) },
        "/v3/auth/user/revoke": unary(Etcdserverpb_AuthUserRevokeRoleRequest.self) { try await $0.userRevokeRole($1, as: $2) },
        "/v3/auth/role/add": unary(Etcdserverpb_AuthRoleAddRequest.self) { try await $0.roleAdd($1, as: $2) },
        "/v3/auth/role/get": unary(Etcdserverpb_AuthRoleGetRequest.self) { try await $0.roleGet($1, as: $2) },
        "/v3/auth/role/list": unary(Etcdserverpb_AuthRoleListRequest.self) { server, _, caller in try await server.roleList(as: caller) },
        "/v3/auth/role/delete": unary(Etcdserverpb_AuthRoleDeleteRequest.self) { try await $0.roleDelete($1, as: $2) },
        "/v3/auth/role/grant": unary(Etcdserverpb_AuthRoleGrantPermissionRequest.self) { try await $0.roleGrantPermission($1, as: $2) },
        "/v3/auth/role/revoke": unary(Etcdserverpb_AuthRoleRevokePermissionRequest.self) { try await $0.roleRevokePermission($1, as: $2) },
    ]
}
