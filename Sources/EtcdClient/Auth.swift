import EtcdProto
import Foundation
import SwiftProtobuf

/// The answer of an auth request that returns nothing but a header.
public struct AuthResponse: Sendable {
    public var header: ResponseHeader
    /// The encoded response as received.
    public var rawBytes: Data

    init(_ header: Etcdserverpb_ResponseHeader, _ message: some SwiftProtobuf.Message) throws {
        self.header = header.native
        rawBytes = try message.serializedBytes()
    }
}

/// A key permission of a role.
public struct Permission: Sendable, Hashable {
    public enum PermissionType: Int, Sendable, Hashable, CustomStringConvertible {
        case read = 0, write, readwrite
        /// `READ`, `WRITE` or `READWRITE`.
        public var description: String {
            switch self {
            case .read: "READ"
            case .write: "WRITE"
            case .readwrite: "READWRITE"
            }
        }
        /// Parses etcdctl's spelling (`read`, `write`, `readwrite`, any case).
        public init?(_ text: String) {
            switch text.lowercased() {
            case "read": self = .read
            case "write": self = .write
            case "readwrite": self = .readwrite
            default: return nil
            }
        }
    }
    public var type: PermissionType
    public var key: EtcdBytes
    /// Empty for a single key; `"\0"` for "from key to the end".
    public var rangeEnd: EtcdBytes

    public init(type: PermissionType, key: EtcdBytes, rangeEnd: EtcdBytes = .empty) {
        self.type = type
        self.key = key
        self.rangeEnd = rangeEnd
    }

    init(_ raw: Authpb_Permission) {
        type = PermissionType(rawValue: raw.permType.rawValue) ?? .read
        key = EtcdBytes(raw.key)
        rangeEnd = EtcdBytes(raw.rangeEnd)
    }
}

public struct AuthStatusResponse: Sendable {
    public var raw: Etcdserverpb_AuthStatusResponse
    public var header: ResponseHeader { raw.header.native }
    public var enabled: Bool { raw.enabled }
    public var authRevision: UInt64 { raw.authRevision }
}

public struct UserGetResponse: Sendable {
    public var raw: Etcdserverpb_AuthUserGetResponse
    public var header: ResponseHeader { raw.header.native }
    public var roles: [String] { raw.roles }
}

public struct UserListResponse: Sendable {
    public var raw: Etcdserverpb_AuthUserListResponse
    public var header: ResponseHeader { raw.header.native }
    public var users: [String] { raw.users }
}

public struct RoleGetResponse: Sendable {
    public var raw: Etcdserverpb_AuthRoleGetResponse
    public var header: ResponseHeader { raw.header.native }
    public var permissions: [Permission] { raw.perm.map(Permission.init) }
}

public struct RoleListResponse: Sendable {
    public var raw: Etcdserverpb_AuthRoleListResponse
    public var header: ResponseHeader { raw.header.native }
    public var roles: [String] { raw.roles }
}

/// The authentication service: users, roles and their key permissions.
///
/// ```swift
/// try await client.auth.userAdd("root", password: "rootpw")
/// try await client.auth.roleAdd("root")
/// try await client.auth.userGrantRole("root", role: "root")
/// try await client.auth.roleAdd("reader")
/// try await client.auth.roleGrantPermission("reader", .init(type: .read, key: "app/", rangeEnd: "app0"))
/// try await client.auth.authEnable()
/// // from now on, clients need credentials:
/// var config = EtcdClient.Configuration(endpoints: endpoints)
/// config.credentials = .init(username: "root", password: "rootpw")
/// ```
public struct Auth: Sendable {
    let pool: ConnectionPool

    @discardableResult
    public func authEnable(timeout: Duration? = nil) async throws -> AuthResponse {
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.authEnable(Etcdserverpb_AuthEnableRequest(), metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    @discardableResult
    public func authDisable(timeout: Duration? = nil) async throws -> AuthResponse {
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.authDisable(Etcdserverpb_AuthDisableRequest(), metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    public func authStatus(timeout: Duration? = nil) async throws -> AuthStatusResponse {
        let raw = try await pool.unary(.idempotent, timeout: timeout) { c, m, o in
            try await c.auth.authStatus(Etcdserverpb_AuthStatusRequest(), metadata: m, options: o)
        }
        return AuthStatusResponse(raw: raw)
    }

    /// Checks a user's password and returns a token (the client does this by itself when it
    /// has ``EtcdClient/Configuration/credentials``).
    public func authenticate(_ name: String, password: String, timeout: Duration? = nil) async throws -> String {
        var request = Etcdserverpb_AuthenticateRequest()
        request.name = name
        request.password = password
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.authenticate(request, metadata: m, options: o)
        }
        return raw.token
    }

    /// Adds a user; `noPassword` makes one that can only authenticate by TLS common name.
    @discardableResult
    public func userAdd(_ name: String, password: String, noPassword: Bool = false, timeout: Duration? = nil)
        async throws -> AuthResponse
    {
        var request = Etcdserverpb_AuthUserAddRequest()
        request.name = name
        request.password = password
        var options = Authpb_UserAddOptions()
        options.noPassword = noPassword
        request.options = options
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.userAdd(request, metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    public func userGet(_ name: String, timeout: Duration? = nil) async throws -> UserGetResponse {
        var request = Etcdserverpb_AuthUserGetRequest()
        request.name = name
        let raw = try await pool.unary(.idempotent, timeout: timeout) { c, m, o in
            try await c.auth.userGet(request, metadata: m, options: o)
        }
        return UserGetResponse(raw: raw)
    }

    public func userList(timeout: Duration? = nil) async throws -> UserListResponse {
        let raw = try await pool.unary(.idempotent, timeout: timeout) { c, m, o in
            try await c.auth.userList(Etcdserverpb_AuthUserListRequest(), metadata: m, options: o)
        }
        return UserListResponse(raw: raw)
    }

    @discardableResult
    public func userDelete(_ name: String, timeout: Duration? = nil) async throws -> AuthResponse {
        var request = Etcdserverpb_AuthUserDeleteRequest()
        request.name = name
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.userDelete(request, metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    @discardableResult
    public func userChangePassword(_ name: String, password: String, timeout: Duration? = nil) async throws
        -> AuthResponse
    {
        var request = Etcdserverpb_AuthUserChangePasswordRequest()
        request.name = name
        request.password = password
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.userChangePassword(request, metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    @discardableResult
    public func userGrantRole(_ user: String, role: String, timeout: Duration? = nil) async throws -> AuthResponse {
        var request = Etcdserverpb_AuthUserGrantRoleRequest()
        request.user = user
        request.role = role
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.userGrantRole(request, metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    @discardableResult
    public func userRevokeRole(_ user: String, role: String, timeout: Duration? = nil) async throws -> AuthResponse {
        var request = Etcdserverpb_AuthUserRevokeRoleRequest()
        request.name = user
        request.role = role
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.userRevokeRole(request, metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    @discardableResult
    public func roleAdd(_ name: String, timeout: Duration? = nil) async throws -> AuthResponse {
        var request = Etcdserverpb_AuthRoleAddRequest()
        request.name = name
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.roleAdd(request, metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    public func roleGet(_ name: String, timeout: Duration? = nil) async throws -> RoleGetResponse {
        var request = Etcdserverpb_AuthRoleGetRequest()
        request.role = name
        let raw = try await pool.unary(.idempotent, timeout: timeout) { c, m, o in
            try await c.auth.roleGet(request, metadata: m, options: o)
        }
        return RoleGetResponse(raw: raw)
    }

    public func roleList(timeout: Duration? = nil) async throws -> RoleListResponse {
        let raw = try await pool.unary(.idempotent, timeout: timeout) { c, m, o in
            try await c.auth.roleList(Etcdserverpb_AuthRoleListRequest(), metadata: m, options: o)
        }
        return RoleListResponse(raw: raw)
    }

    @discardableResult
    public func roleDelete(_ name: String, timeout: Duration? = nil) async throws -> AuthResponse {
        var request = Etcdserverpb_AuthRoleDeleteRequest()
        request.role = name
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.roleDelete(request, metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    @discardableResult
    public func roleGrantPermission(_ role: String, _ permission: Permission, timeout: Duration? = nil) async throws
        -> AuthResponse
    {
        var request = Etcdserverpb_AuthRoleGrantPermissionRequest()
        request.name = role
        var perm = Authpb_Permission()
        perm.permType = Authpb_Permission.TypeEnum(rawValue: permission.type.rawValue) ?? .read
        perm.key = permission.key.data
        perm.rangeEnd = permission.rangeEnd.data
        request.perm = perm
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.roleGrantPermission(request, metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }

    @discardableResult
    public func roleRevokePermission(_ role: String, key: EtcdBytes, rangeEnd: EtcdBytes = .empty,
                                     timeout: Duration? = nil) async throws -> AuthResponse
    {
        var request = Etcdserverpb_AuthRoleRevokePermissionRequest()
        request.role = role
        request.key = key.data
        request.rangeEnd = rangeEnd.data
        let raw = try await pool.unary(.mutation, timeout: timeout) { c, m, o in
            try await c.auth.roleRevokePermission(request, metadata: m, options: o)
        }
        return try AuthResponse(raw.header, raw)
    }
}
