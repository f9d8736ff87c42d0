import EtcdProto
import Foundation
import Storage
import Synchronization

/// The member's auth state: loaded from the backend, changed only by applying the log (on
/// the Raft loop's thread, in the backend's batch), and published to checks on any thread as
/// an immutable `AuthState`. Stored as etcd stores it: `auth/authEnabled`,
/// `auth/authRevision`, and `authpb.User`/`authpb.Role` protobufs in `authUsers`/`authRoles`.
public final class AuthStore: Sendable {
    private let current: Mutex<AuthState>
    /// The simple tokens this member issued; dropped when their user is deleted, changes
    /// password, or auth is disabled.
    public let tokens: SimpleTokens

    static let enabledKey = Array("authEnabled".utf8)
    static let revisionKey = Array("authRevision".utf8)

    /// Loads the state stored in `reader`.
    public init(loadingFrom reader: some BackendReader, tokenTTL: Duration) throws {
        current = Mutex(try Self.load(from: reader))
        tokens = SimpleTokens(ttl: tokenTTL)
    }

    /// The state checks run against now.
    public var state: AuthState { current.withLock { $0 } }

    /// Replaces the state with the one stored in `reader` (a snapshot from the leader
    /// replaced the backend). Tokens stay: their users are checked at every use.
    public func reload(from reader: some BackendReader) throws {
        let loaded = try Self.load(from: reader)
        current.withLock { $0 = loaded }
    }

    static func load(from reader: some BackendReader) throws -> AuthState {
        let enabled = try reader.get(.auth, enabledKey) == [1]
        let revisionBytes = try reader.get(.auth, revisionKey) ?? []
        let stored = revisionBytes.count == 8 ? revisionBytes.reduce(0) { $0 << 8 | UInt64($1) } : 0
        var users = NameMap<Authpb_User>()
        for (_, value) in try reader.all(.authUsers) {
            let user = try Authpb_User(serializedBytes: value)
            users[String(decoding: user.name, as: UTF8.self)] = user
        }
        var roles = NameMap<Authpb_Role>()
        for (_, value) in try reader.all(.authRoles) {
            let role = try Authpb_Role(serializedBytes: value)
            roles[String(decoding: role.name, as: UTF8.self)] = role
        }
        // A new store starts at revision 1, as etcd's does: revision 0 means "no identity".
        return AuthState(enabled: enabled, revision: max(stored, 1), users: users, roles: roles)
    }

    // MARK: Applying changes

    /// One change applied: refuses with the `AuthError` etcd gives, or writes the change to
    /// `batch` and publishes the new state. Errors of the backend itself are thrown as they are.
    public func apply(_ change: AuthChange, index: UInt64, in batch: BatchTransaction) throws {
        let state = state
        var users = state.users
        var roles = state.roles
        var enabled = state.enabled
        var bumps = true
        // The users whose permissions the change touches.
        var changed: Set<String> = []
        switch change {
        case .enable:
            if enabled { return }
            guard let root = users[AuthState.root] else { throw AuthError(.rootUserNotExist) }
            guard root.roles.contains(AuthState.root) else { throw AuthError(.rootRoleNotExist) }
            enabled = true
            bumps = false
            try batch.put(.auth, Self.enabledKey, [1])
        case .disable:
            if !enabled { return }
            enabled = false
            try batch.put(.auth, Self.enabledKey, [0])
            tokens.dropAll()
        case .authenticate(let name, let token):
            guard enabled else { throw AuthError(.authNotEnabled) }
            guard let user = users[name] else { throw AuthError(.authFailed) }
            if user.options.noPassword { throw AuthError.noPasswordUser }
            tokens.assign("\(token).\(index)", to: name)
            return
        case .userAdd(let request):
            guard !request.name.isEmpty else { throw AuthError(.userEmpty) }
            guard users[request.name] == nil else { throw AuthError(.userAlreadyExist) }
            var user = Authpb_User()
            user.name = Data(request.name.utf8)
            user.options = request.options
            if !request.options.noPassword { user.password = try Self.passwordHash(request.hashedPassword, plain: request.password) }
            users[request.name] = user
            changed.insert(request.name)
            try save(user, in: batch)
        case .userDelete(let name):
            if enabled && name == AuthState.root { throw AuthError(.invalidAuthMgmt) }
            guard users.removeValue(forKey: name) != nil else { throw AuthError(.userNotFound) }
            try batch.delete(.authUsers, Array(name.utf8))
            changed.insert(name)
            tokens.drop(user: name)
        case .userChangePassword(let request):
            guard var user = users[request.name] else { throw AuthError(.userNotFound) }
            if !user.options.noPassword { user.password = try Self.passwordHash(request.hashedPassword, plain: request.password) }
            users[request.name] = user
            try save(user, in: batch)
            tokens.drop(user: request.name)
        case .userGrantRole(let name, let role):
            guard var user = users[name] else { throw AuthError(.userNotFound) }
            if role != AuthState.root && roles[role] == nil { throw AuthError(.roleNotFound) }
            if user.roles.contains(role) { return }
            user.roles.append(role)
            user.roles.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            users[name] = user
            changed.insert(name)
            try save(user, in: batch)
        case .userRevokeRole(let name, let role):
            if enabled && name == AuthState.root && role == AuthState.root { throw AuthError(.invalidAuthMgmt) }
            guard var user = users[name] else { throw AuthError(.userNotFound) }
            guard let position = user.roles.firstIndex(of: role) else { throw AuthError(.roleNotGranted) }
            user.roles.remove(at: position)
            users[name] = user
            changed.insert(name)
            try save(user, in: batch)
        case .roleAdd(let name):
            guard !name.isEmpty else { throw AuthError(.roleEmpty) }
            guard roles[name] == nil else { throw AuthError(.roleAlreadyExist) }
            var role = Authpb_Role()
            role.name = Data(name.utf8)
            roles[name] = role
            changed.formUnion(state.holders(of: name))
            try save(role, in: batch)
        case .roleDelete(let name):
            if enabled && name == AuthState.root { throw AuthError(.invalidAuthMgmt) }
            guard roles.removeValue(forKey: name) != nil else { throw AuthError(.roleNotFound) }
            try batch.delete(.authRoles, Array(name.utf8))
            for userName in state.holders(of: name) {
                guard var user = users[userName] else { continue }
                user.roles.removeAll { $0 == name }
                users[userName] = user
                changed.insert(userName)
                try save(user, in: batch)
            }
        case .roleGrantPermission(let name, let permission):
            guard Self.isValidRange(key: permission.key, end: permission.rangeEnd) else { throw AuthError(.invalidAuthMgmt) }
            guard var role = roles[name] else { throw AuthError(.roleNotFound) }
            // As etcd: only the first permission at this key (in key order) is looked at for
            // an update, so a grant may add a second permission with the same range.
            let first = role.keyPermission.firstIndex { ![UInt8]($0.key).lexicographicallyPrecedes([UInt8](permission.key)) }
            if let first, role.keyPermission[first].key == permission.key, role.keyPermission[first].rangeEnd == permission.rangeEnd {
                role.keyPermission[first].permType = permission.permType
            } else {
                role.keyPermission.append(permission)
                role.keyPermission.sort { [UInt8]($0.key).lexicographicallyPrecedes([UInt8]($1.key)) }
            }
            roles[name] = role
            changed.formUnion(state.holders(of: name))
            try save(role, in: batch)
        case .roleRevokePermission(let name, let key, let end):
            guard var role = roles[name] else { throw AuthError(.roleNotFound) }
            let before = role.keyPermission.count
            role.keyPermission.removeAll { $0.key == key && $0.rangeEnd == end }
            guard role.keyPermission.count < before else { throw AuthError(.permissionNotGranted) }
            roles[name] = role
            changed.formUnion(state.holders(of: name))
            try save(role, in: batch)
        }
        let revision = state.revision + (bumps ? 1 : 0)
        if bumps { try batch.put(.auth, Self.revisionKey, Self.bigEndian(revision)) }
        let next = AuthState(enabled: enabled, revision: revision, users: users, roles: roles, previous: state, changed: changed)
        current.withLock { $0 = next }
    }

    private func save(_ user: Authpb_User, in batch: BatchTransaction) throws {
        try batch.put(.authUsers, Array(user.name), try user.serializedBytes())
    }

    private func save(_ role: Authpb_Role, in batch: BatchTransaction) throws {
        try batch.put(.authRoles, Array(role.name), try role.serializedBytes())
    }

    /// The stored password: the hash the proposing member made (base64, as etcd 3.5+ logs
    /// it), or, for an entry with a plain password, a hash made now.
    private static func passwordHash(_ hashed: String, plain: String) throws -> Data {
        if hashed.isEmpty { return Data(try Bcrypt.hash(Array(plain.utf8), cost: Bcrypt.defaultCost).utf8) }
        guard let decoded = Data(base64Encoded: hashed) else { throw AuthError.noPasswordUser }
        return decoded
    }

    /// etcd 3.6's rule for a permission's range: a key, and an end that is empty (one key),
    /// `\0` (open-ended) or after the key.
    static func isValidRange(key: Data, end: Data) -> Bool {
        guard !key.isEmpty else { return false }
        return end.isEmpty || end == Data([0]) || [UInt8](key).lexicographicallyPrecedes([UInt8](end))
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }
}

/// One change to the auth state, as a log entry carries it.
public enum AuthChange: Sendable {
    case enable, disable
    /// A user whose password the proposing member checked gets the simple token
    /// `<token>.<index of the entry>`.
    case authenticate(name: String, token: String)
    case userAdd(Etcdserverpb_AuthUserAddRequest)
    case userDelete(String)
    case userChangePassword(Etcdserverpb_AuthUserChangePasswordRequest)
    case userGrantRole(user: String, role: String)
    case userRevokeRole(user: String, role: String)
    case roleAdd(String)
    case roleDelete(String)
    case roleGrantPermission(role: String, Authpb_Permission)
    case roleRevokePermission(role: String, key: Data, end: Data)
}
