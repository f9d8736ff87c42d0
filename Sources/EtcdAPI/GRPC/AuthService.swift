import EtcdProto
import EtcdServer
import LeanGRPC

/// `etcdserverpb.Auth`: users, roles, permissions, enabling auth and issuing tokens.
enum AuthService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        typealias Method = Etcdserverpb_Auth.Method
        routes.unary(Method.AuthEnable.descriptor, withHead: { (_: Etcdserverpb_AuthEnableRequest, head) in
            try await server.authEnable(as: Credentials(head))
        })
        routes.unary(Method.AuthDisable.descriptor, withHead: { (_: Etcdserverpb_AuthDisableRequest, head) in
            try await server.authDisable(as: Credentials(head))
        })
        routes.unary(Method.AuthStatus.descriptor, withHead: { (_: Etcdserverpb_AuthStatusRequest, head) in
            try await server.authStatus(as: Credentials(head))
        })
        routes.unary(Method.Authenticate.descriptor) { try await server.authenticate($0) }
        routes.unary(Method.UserAdd.descriptor, withHead: { try await server.userAdd($0, as: Credentials($1)) })
        routes.unary(Method.UserGet.descriptor, withHead: { try await server.userGet($0, as: Credentials($1)) })
        routes.unary(Method.UserList.descriptor, withHead: { (_: Etcdserverpb_AuthUserListRequest, head) in
            try await server.userList(as: Credentials(head))
        })
        routes.unary(Method.UserDelete.descriptor, withHead: { try await server.userDelete($0, as: Credentials($1)) })
        routes.unary(Method.UserChangePassword.descriptor, withHead: { try await server.userChangePassword($0, as: Credentials($1)) })
        routes.unary(Method.UserGrantRole.descriptor, withHead: { try await server.userGrantRole($0, as: Credentials($1)) })
        routes.unary(Method.UserRevokeRole.descriptor, withHead: { try await server.userRevokeRole($0, as: Credentials($1)) })
        routes.unary(Method.RoleAdd.descriptor, withHead: { try await server.roleAdd($0, as: Credentials($1)) })
        routes.unary(Method.RoleGet.descriptor, withHead: { try await server.roleGet($0, as: Credentials($1)) })
        routes.unary(Method.RoleList.descriptor, withHead: { (_: Etcdserverpb_AuthRoleListRequest, head) in
            try await server.roleList(as: Credentials(head))
        })
        routes.unary(Method.RoleDelete.descriptor, withHead: { try await server.roleDelete($0, as: Credentials($1)) })
        routes.unary(Method.RoleGrantPermission.descriptor, withHead: { try await server.roleGrantPermission($0, as: Credentials($1)) })
        routes.unary(Method.RoleRevokePermission.descriptor, withHead: { try await server.roleRevokePermission($0, as: Credentials($1)) })
    }
}
