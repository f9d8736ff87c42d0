import EtcdProto
import Foundation
@testable import EtcdServer

/// An in-process member with auth enabled and three users:
/// - `root` (role root);
/// - `alice`, read-write on the prefix `/app/`;
/// - `wally`, write-only on the prefix `w/`;
/// and a key `/secret` nobody but root may touch.
struct AuthFixture {
    let member: InProcessMember
    let server: EtcdServer
    let root: Credentials
    let alice: Credentials
    let wally: Credentials

    static func start(extraArguments: [String] = []) async throws -> AuthFixture {
        let member = try InProcessMember(name: "auth", extraArguments: ["--bcrypt-cost", "4"] + extraArguments)
        let server = try await member.start()
        try await server.addUser("root", role: "root")
        try await server.addRole("app", .readwrite, key: "/app/", end: "/app0")
        try await server.addUser("alice", role: "app")
        try await server.addRole("wo", .write, key: "w/", end: "w0")
        try await server.addUser("wally", role: "wo")
        _ = try await server.authEnable(as: .none)
        var put = Etcdserverpb_PutRequest()
        let root = try await server.login("root")
        put.key = Data("/secret".utf8)
        put.value = Data("s".utf8)
        _ = try await server.put(put, as: root)
        return AuthFixture(
            member: member, server: server, root: root, alice: try await server.login("alice"), wally: try await server.login("wally"))
    }

    func stop() {
        server.stop()
        member.remove()
    }

    /// The value of `key`, read as root.
    func value(of key: String) async throws -> String? {
        var get = Etcdserverpb_RangeRequest()
        get.key = Data(key.utf8)
        return try await server.range(get, as: root).kvs.first.map { String(decoding: $0.value, as: UTF8.self) }
    }
}

extension EtcdServer {
    /// Adds user `name` (password: its name) holding `role`.
    func addUser(_ name: String, role: String) async throws {
        var add = Etcdserverpb_AuthUserAddRequest()
        add.name = name
        add.password = name
        _ = try await userAdd(add, as: .none)
        var grant = Etcdserverpb_AuthUserGrantRoleRequest()
        grant.user = name
        grant.role = role
        _ = try await userGrantRole(grant, as: .none)
    }

    /// Adds role `name` with one permission on `[key, end)`.
    func addRole(_ name: String, _ type: Authpb_Permission.TypeEnum, key: String, end: String) async throws {
        var add = Etcdserverpb_AuthRoleAddRequest()
        add.name = name
        _ = try await roleAdd(add, as: .none)
        var grant = Etcdserverpb_AuthRoleGrantPermissionRequest()
        grant.name = name
        grant.perm.permType = type
        grant.perm.key = Data(key.utf8)
        grant.perm.rangeEnd = Data(end.utf8)
        _ = try await roleGrantPermission(grant, as: .none)
    }

    /// A token for `name` (whose password is its name).
    func login(_ name: String) async throws -> Credentials {
        var request = Etcdserverpb_AuthenticateRequest()
        request.name = name
        request.password = name
        return Credentials(token: try await authenticate(request).token)
    }
}

extension Etcdserverpb_PutRequest {
    static func key(_ key: String, _ value: String = "v", prevKV: Bool = false, lease: Int64 = 0) -> Self {
        var put = Self()
        put.key = Data(key.utf8)
        put.value = Data(value.utf8)
        put.prevKv = prevKV
        put.lease = lease
        return put
    }
}
