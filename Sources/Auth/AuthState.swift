import EtcdProto

/// Who a request runs as once its token or certificate is resolved: the user, and the auth
/// revision the identity was established at (0: nobody).
public struct AuthInfo: Sendable, Equatable {
    public var username: String
    public var revision: UInt64

    public init(username: String, revision: UInt64) {
        self.username = username
        self.revision = revision
    }
}

/// What a permission allows.
public enum Access: Sendable {
    case read, write
}

/// The auth state at one point of the log, never changed once made: whether auth is on,
/// its revision, the users and roles, and each user's readable and writable key ranges.
/// Checks read one of these without locks; applying an auth change publishes a new one.
public final class AuthState: Sendable {
    /// The role that may do everything, and the user that must hold it to enable auth.
    public static let root = "root"

    public let enabled: Bool
    /// Bumped by every change to users, roles or permissions (and by disabling auth).
    public let revision: UInt64
    public let users: NameMap<Authpb_User>
    public let roles: NameMap<Authpb_Role>
    private let readable: NameMap<KeyRangeSet>
    private let writable: NameMap<KeyRangeSet>
    /// Role → the users holding it.
    private let holders: NameMap<Set<String>>

    /// A state whose permission ranges are computed for every user, or, given `previous`, only
    /// for `changed` users (the others keep theirs): one change costs one user's ranges, not
    /// every user's.
    init(
        enabled: Bool, revision: UInt64, users: NameMap<Authpb_User>, roles: NameMap<Authpb_Role>,
        previous: AuthState? = nil, changed: Set<String> = []
    ) {
        self.enabled = enabled
        self.revision = revision
        self.users = users
        self.roles = roles
        var readable = previous?.readable ?? NameMap()
        var writable = previous?.writable ?? NameMap()
        var holders = previous?.holders ?? NameMap()
        let recomputed = previous == nil ? Set(users.keys) : changed
        for name in recomputed {
            for role in previous?.users[name]?.roles ?? [] { holders[role]?.remove(name) }
            for role in users[name]?.roles ?? [] { holders[role, default: []].insert(name) }
        }
        for name in recomputed {
            guard let user = users[name] else {
                readable[name] = nil
                writable[name] = nil
                continue
            }
            let permissions = user.roles.compactMap { roles[$0] }.flatMap(\.keyPermission)
            let ranges = { (access: Access) in
                KeyRangeSet(permissions.filter { $0.allows(access) }.map { (start: [UInt8]($0.key), end: [UInt8]($0.rangeEnd)) })
            }
            readable[name] = ranges(.read)
            writable[name] = ranges(.write)
        }
        self.readable = readable
        self.writable = writable
        self.holders = holders
    }

    /// The users holding `role`.
    public func holders(of role: String) -> Set<String> {
        holders[role] ?? []
    }

    /// A user's readable and writable ranges as computed (for tests comparing states).
    func ranges(of user: String) -> (read: KeyRangeSet?, write: KeyRangeSet?) {
        (readable[user], writable[user])
    }

    /// Whether `user` holds the root role (whatever the role's stored permissions).
    public func isAdmin(_ user: String) -> Bool {
        users[user]?.roles.contains(Self.root) ?? false
    }

    /// Refuses unless `info` may access the key range (`end` empty: one key; `[0]`: from
    /// `key` on). Nothing is refused while auth is disabled.
    public func check(_ info: AuthInfo?, _ access: Access, key: [UInt8], end: [UInt8] = []) throws(AuthError) {
        guard enabled else { return }
        let user = try identity(info)
        if isAdmin(user) { return }
        let ranges = access == .read ? readable[user] : writable[user]
        guard ranges?.covers(start: key, end: end) == true else { throw AuthError(.permissionDenied) }
    }

    /// Refuses unless `info` names an existing user that holds the root role.
    public func checkAdmin(_ info: AuthInfo?) throws(AuthError) {
        guard enabled else { return }
        guard let info, !info.username.isEmpty else { throw AuthError(.userEmpty) }
        guard users[info.username] != nil else { throw AuthError(.userNotFound) }
        guard isAdmin(info.username) else { throw AuthError(.permissionDenied) }
    }

    /// Refuses a request that carries no identity at all (etcd's `requireAuthInfo`).
    public func checkIdentified(_ info: AuthInfo?) throws(AuthError) {
        guard enabled else { return }
        guard let info, !info.username.isEmpty else { throw AuthError(.userEmpty) }
    }

    /// The user a key check runs as: refuses nobody, an identity from an older auth revision
    /// and a user that no longer exists.
    private func identity(_ info: AuthInfo?) throws(AuthError) -> String {
        guard let info, info.revision != 0 else { throw AuthError(.userEmpty) }
        if info.revision < revision { throw AuthError(.authOldRevision) }
        guard users[info.username] != nil else { throw AuthError(.permissionDenied) }
        return info.username
    }
}

extension Authpb_Permission {
    func allows(_ access: Access) -> Bool {
        switch (permType, access) {
        case (.readwrite, _), (.read, .read), (.write, .write): true
        default: false
        }
    }
}
