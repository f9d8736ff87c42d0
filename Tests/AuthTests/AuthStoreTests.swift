import EtcdProto
import Foundation
import Storage
import Testing

@testable import Auth

/// etcd's rules for changing users, roles and permissions, applied to a real backend, and
/// the state surviving a reload from it.
struct AuthStoreTests {
    private final class Fixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-auth-\(UUID().uuidString)")
        let backend: Backend
        let store: AuthStore
        private var index: UInt64 = 0

        init() throws {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            backend = try Backend(path: directory.appendingPathComponent("db").path)
            store = try AuthStore(loadingFrom: backend.batch, tokenTTL: .seconds(300))
        }

        deinit {
            try? backend.close()
            try? FileManager.default.removeItem(at: directory)
        }

        /// Applies `change` and commits; the refusal, if any.
        @discardableResult
        func apply(_ change: AuthChange) throws -> AuthError? {
            index += 1
            defer { try? backend.commit() }
            do {
                try store.apply(change, index: index, in: backend.batch)
                return nil
            } catch let error as AuthError {
                return error
            }
        }

        func addUser(_ name: String, password: String = "pw") throws -> AuthError? {
            var request = Etcdserverpb_AuthUserAddRequest()
            request.name = name
            request.hashedPassword = Data(try Bcrypt.hash(Array(password.utf8), cost: 4).utf8).base64EncodedString()
            return try apply(.userAdd(request))
        }

        func permission(_ type: Authpb_Permission.TypeEnum, _ key: String, _ end: String = "") -> Authpb_Permission {
            var permission = Authpb_Permission()
            permission.permType = type
            permission.key = Data(key.utf8)
            permission.rangeEnd = Data(end.utf8)
            return permission
        }
    }

    @Test func enablingNeedsARootUserWithTheRootRole() throws {
        let fixture = try Fixture()
        #expect(try fixture.apply(.enable) == AuthError(.rootUserNotExist))
        #expect(try fixture.addUser("root") == nil)
        #expect(try fixture.apply(.enable) == AuthError(.rootRoleNotExist))
        #expect(try fixture.apply(.userGrantRole(user: "root", role: "root")) == nil, "role root need not exist to be granted")
        let before = fixture.store.state.revision
        #expect(try fixture.apply(.enable) == nil)
        #expect(fixture.store.state.enabled)
        #expect(fixture.store.state.revision == before, "enabling does not bump the revision")
        #expect(try fixture.apply(.userDelete("root")) == AuthError(.invalidAuthMgmt))
        #expect(try fixture.apply(.userRevokeRole(user: "root", role: "root")) == AuthError(.invalidAuthMgmt))
        #expect(try fixture.apply(.roleDelete("root")) == AuthError(.invalidAuthMgmt) || fixture.store.state.roles["root"] == nil)
        #expect(try fixture.apply(.disable) == nil)
        #expect(try fixture.apply(.userDelete("root")) == nil, "allowed once auth is off")
    }

    @Test func usersRolesAndPermissionsRefuseWhatEtcdRefuses() throws {
        let fixture = try Fixture()
        #expect(try fixture.addUser("") == AuthError(.userEmpty))
        #expect(try fixture.addUser("alice") == nil)
        #expect(try fixture.addUser("alice") == AuthError(.userAlreadyExist))
        #expect(try fixture.apply(.roleAdd("")) == AuthError(.roleEmpty))
        #expect(try fixture.apply(.roleAdd("ro")) == nil)
        #expect(try fixture.apply(.roleAdd("ro")) == AuthError(.roleAlreadyExist))
        #expect(try fixture.apply(.userGrantRole(user: "nobody", role: "ro")) == AuthError(.userNotFound))
        #expect(try fixture.apply(.userGrantRole(user: "alice", role: "nope")) == AuthError(.roleNotFound))
        #expect(try fixture.apply(.userRevokeRole(user: "alice", role: "ro")) == AuthError(.roleNotGranted))
        #expect(try fixture.apply(.roleGrantPermission(role: "ro", fixture.permission(.read, "")) ) == AuthError(.invalidAuthMgmt))
        #expect(try fixture.apply(.roleGrantPermission(role: "ro", fixture.permission(.read, "b", "a"))) == AuthError(.invalidAuthMgmt))
        #expect(try fixture.apply(.roleGrantPermission(role: "nope", fixture.permission(.read, "a"))) == AuthError(.roleNotFound))
        #expect(try fixture.apply(.roleRevokePermission(role: "ro", key: Data("a".utf8), end: Data())) == AuthError(.permissionNotGranted))

        // Granting the same range again changes its type only.
        #expect(try fixture.apply(.roleGrantPermission(role: "ro", fixture.permission(.read, "a", "c"))) == nil)
        #expect(try fixture.apply(.roleGrantPermission(role: "ro", fixture.permission(.readwrite, "a", "c"))) == nil)
        #expect(fixture.store.state.roles["ro"]?.keyPermission.map(\.permType) == [.readwrite])
        #expect(try fixture.apply(.userGrantRole(user: "alice", role: "ro")) == nil)
        #expect(try fixture.addUser("root") == nil)
        #expect(try fixture.apply(.userGrantRole(user: "root", role: "root")) == nil)
        #expect(try fixture.apply(.enable) == nil)
        let state = fixture.store.state
        let alice = AuthInfo(username: "alice", revision: state.revision)
        #expect(throws: Never.self) { try state.check(alice, .write, key: Array("b".utf8)) }
        #expect(throws: AuthError(.permissionDenied)) { try state.check(alice, .write, key: Array("c".utf8)) }
        #expect(throws: AuthError(.authOldRevision)) { try state.check(AuthInfo(username: "alice", revision: 1), .read, key: Array("b".utf8)) }
        #expect(throws: AuthError(.userEmpty)) { try state.check(AuthInfo(username: "", revision: 0), .read, key: Array("b".utf8)) }
        #expect(throws: Never.self) { try state.check(AuthInfo(username: "root", revision: state.revision), .write, key: Array("zz".utf8)) }
        try fixture.apply(.disable)

        // Deleting a role takes it away from its users.
        #expect(try fixture.apply(.roleDelete("ro")) == nil)
        #expect(fixture.store.state.users["alice"]?.roles == [])
    }

    @Test func theStateSurvivesAReloadFromTheBackend() throws {
        let fixture = try Fixture()
        _ = try fixture.addUser("root")
        try fixture.apply(.userGrantRole(user: "root", role: "root"))
        try fixture.apply(.roleAdd("ro"))
        try fixture.apply(.roleGrantPermission(role: "ro", fixture.permission(.read, "a", "\0")))
        try fixture.apply(.enable)
        let reloaded = try AuthStore(loadingFrom: fixture.backend.batch, tokenTTL: .seconds(300))
        #expect(reloaded.state.enabled)
        #expect(reloaded.state.revision == fixture.store.state.revision)
        #expect(reloaded.state.users == fixture.store.state.users)
        #expect(reloaded.state.roles == fixture.store.state.roles)
        // etcd's layout: one byte for the flag, eight big-endian bytes for the revision.
        #expect(try fixture.backend.batch.get(.auth, Array("authEnabled".utf8)) == [1])
        #expect(try fixture.backend.batch.get(.auth, Array("authRevision".utf8))?.count == 8)
    }

    @Test func tokensOfADeletedOrChangedUserStopWorking() throws {
        let fixture = try Fixture()
        _ = try fixture.addUser("root")
        _ = try fixture.addUser("alice")
        try fixture.apply(.userGrantRole(user: "root", role: "root"))
        try fixture.apply(.enable)
        try fixture.apply(.authenticate(name: "alice", token: "abc"))
        let token = "abc.5"
        #expect(fixture.store.tokens.user(of: token) == "alice")
        var change = Etcdserverpb_AuthUserChangePasswordRequest()
        change.name = "alice"
        change.hashedPassword = Data(try Bcrypt.hash(Array("new".utf8), cost: 4).utf8).base64EncodedString()
        try fixture.apply(.userChangePassword(change))
        #expect(fixture.store.tokens.user(of: token) == nil)
        #expect(try fixture.apply(.authenticate(name: "nobody", token: "x")) == AuthError(.authFailed))
    }
}

/// Many users and roles, and the per-user ranges kept up to date change by change.
struct AuthStoreScaleTests {
    @Test func tenThousandUsersAndRolesKeepChecksExact() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let backend = try Backend(path: directory.appendingPathComponent("db").path)
        defer { try? backend.close() }
        let store = try AuthStore(loadingFrom: backend.batch, tokenTTL: .seconds(300))
        let hash = Data(try Bcrypt.hash(Array("pw".utf8), cost: 4).utf8).base64EncodedString()
        var index: UInt64 = 0
        func apply(_ change: AuthChange) throws {
            index += 1
            try store.apply(change, index: index, in: backend.batch)
        }
        var generator = SystemRandomNumberGenerator()
        for number in 0..<10_000 {
            var add = Etcdserverpb_AuthUserAddRequest()
            add.name = "user\(number)"
            add.hashedPassword = hash
            try apply(.userAdd(add))
            try apply(.roleAdd("role\(number)"))
            var permission = Authpb_Permission()
            permission.permType = .readwrite
            permission.key = Data("k\(number)/".utf8)
            permission.rangeEnd = Data("k\(number)0".utf8)
            try apply(.roleGrantPermission(role: "role\(number)", permission))
            try apply(.userGrantRole(user: "user\(number)", role: "role\(Int(generator.next(upperBound: UInt(number + 1))))"))
        }
        try backend.commit()
        // Kept change by change, the ranges equal those computed from scratch.
        let state = store.state
        let fresh = try AuthStore(loadingFrom: backend.batch, tokenTTL: .seconds(300)).state
        #expect(state.users.count == 10_000 && state.roles.count == 10_000)
        for number in stride(from: 0, to: 10_000, by: 97) {
            let (kept, computed) = (state.ranges(of: "user\(number)"), fresh.ranges(of: "user\(number)"))
            #expect(kept.read == computed.read && kept.write == computed.write)
        }
        // Deleting a role takes its ranges away from its holders at once.
        let holder = try #require(state.users.first { !$0.value.roles.isEmpty })
        try apply(.roleDelete(holder.value.roles[0]))
        #expect(store.state.ranges(of: holder.key).read == KeyRangeSet())
    }
}
