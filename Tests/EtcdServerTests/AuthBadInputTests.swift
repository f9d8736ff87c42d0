import EtcdProto
import Foundation
import TestLoad
import Testing
@testable import EtcdServer

/// Hostile and odd input to the Auth service: each gets etcd's error and changes nothing.
@Suite(.serialized, .load(1)) struct AuthBadInputTests {
    @Test func namesPasswordsAndEnablingWithoutRoot() async throws {
        let member = try InProcessMember(name: "authbad", extraArguments: ["--bcrypt-cost", "4"])
        let server = try await member.start()
        defer {
            server.stop()
            member.remove()
        }
        await #expect(throws: EtcdError(kind: .rootUserNotExist)) { try await server.authEnable(as: .none) }
        var add = Etcdserverpb_AuthUserAddRequest()
        await #expect(throws: EtcdError(kind: .userEmpty)) { try await server.userAdd(add, as: .none) }
        var role = Etcdserverpb_AuthRoleAddRequest()
        await #expect(throws: EtcdError(kind: .roleEmpty)) { try await server.roleAdd(role, as: .none) }

        // Go's bcrypt refuses passwords over 72 bytes and etcd passes its error on.
        add.name = "big"
        add.password = String(repeating: "p", count: 1 << 20)
        await #expect(throws: EtcdError(.unknown, "bcrypt: password length exceeds 72 bytes")) { try await server.userAdd(add, as: .none) }
        var get = Etcdserverpb_AuthUserGetRequest()
        get.name = "big"
        await #expect(throws: EtcdError(kind: .userNotFound)) { try await server.userGet(get, as: .none) }

        // Names are bytes to etcd: control characters are stored and listed as given.
        add.name = "tab\there\u{1}"
        add.password = "pw"
        _ = try await server.userAdd(add, as: .none)
        role.name = "new\nline"
        _ = try await server.roleAdd(role, as: .none)
        #expect(try await server.userList(as: .none).users == ["tab\there\u{1}"])
        #expect(try await server.roleList(as: .none).roles == ["new\nline"])

        // A permission without a range, or with its end before its key, is refused (3.6).
        var grant = Etcdserverpb_AuthRoleGrantPermissionRequest()
        grant.name = "new\nline"
        await #expect(throws: EtcdError(.invalidArgument, "etcdserver: permission not given")) {
            try await server.roleGrantPermission(grant, as: .none)
        }
        grant.perm.key = Data("b".utf8)
        grant.perm.rangeEnd = Data("a".utf8)
        await #expect(throws: EtcdError(kind: .invalidAuthMgmt)) { try await server.roleGrantPermission(grant, as: .none) }

        // Once enabled, a megabyte password is just a wrong one.
        add.name = "root"
        _ = try await server.userAdd(add, as: .none)
        var root = Etcdserverpb_AuthUserGrantRoleRequest()
        root.user = "root"
        root.role = "root"
        _ = try await server.userGrantRole(root, as: .none)
        _ = try await server.authEnable(as: .none)
        var login = Etcdserverpb_AuthenticateRequest()
        login.name = "root"
        login.password = String(repeating: "p", count: 1 << 20)
        await #expect(throws: EtcdError(kind: .authFailed)) { try await server.authenticate(login) }
        login.name = "nobody"
        await #expect(throws: EtcdError(kind: .authFailed)) { try await server.authenticate(login) }
    }
}
