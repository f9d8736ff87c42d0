import EtcdClient
import EtcdProto
import Foundation

/// user *, role *, auth enable|disable.
enum AuthCommands {
    /// etcdctl runs the auth commands with `context.TODO()`: no deadline.
    static let unbounded = Duration.seconds(Int64(Int32.max))

    static func register(_ app: App) {
        app.root.add(authCommand(app), userCommand(app), roleCommand(app))
    }

    // MARK: - auth

    static func authCommand(_ app: App) -> Command {
        let auth = Command("auth <enable or disable>", short: "Enable or disable authentication")
        auth.add(
            Command("enable", short: "Enables authentication") { invocation in
                if !invocation.args.isEmpty { exitWithError(.badArgs, "auth enable command does not accept any arguments") }
                let client = await app.client(invocation)
                let deadline = ContinuousClock.now + app.commandTimeoutDuration
                func remaining() -> Duration { max(deadline - .now, .milliseconds(1)) }
                while true {
                    do {
                        try await client.auth.authEnable(timeout: remaining())
                        break
                    } catch let error as EtcdError where error.kind == .rootRoleNotExist {
                        app.logRetryFailure(error)
                        _ = await app.call { try await client.auth.roleAdd("root", timeout: remaining()) }
                        _ = await app.call { try await client.auth.userGrantRole("root", role: "root", timeout: remaining()) }
                    } catch {
                        app.logRetryFailure(error)
                        exitWithError(.error, error)
                    }
                }
                Out.line("Authentication Enabled")
            },
            Command("disable", short: "Disables authentication") { invocation in
                if !invocation.args.isEmpty { exitWithError(.badArgs, "auth disable command does not accept any arguments") }
                let client = await app.client(invocation)
                _ = await app.call { try await client.auth.authDisable(timeout: app.commandTimeoutDuration) }
                Out.line("Authentication Disabled")
            })
        return auth
    }

    // MARK: - user

    static func userCommand(_ app: App) -> Command {
        let user = Command("user <subcommand>", short: "User related commands")

        let add = Command("add <user name or user:password> [options]", short: "Adds a new user")
        let addInteractive = add.flags.bool("interactive", nil, true, "Read password from stdin instead of interactive terminal")
        let newPassword = add.flags.string("new-user-password", nil, "", "Supply password from the command line flag")
        let noPassword = add.flags.bool("no-password", nil, false, "Create a user without password (CN based auth only)")
        add.run = { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "user add command requires user name as its argument")
            }
            let arg = invocation.args[0]
            var name = arg
            var password = ""
            if !noPassword.bool {
                if !newPassword.string.isEmpty {
                    password = newPassword.string
                } else if let colon = arg.firstIndex(of: ":") {
                    name = String(arg[..<colon])
                    password = String(arg[arg.index(after: colon)...])
                    if name.isEmpty { exitWithError(.badArgs, "empty user name is not allowed") }
                } else {
                    password = addInteractive.bool ? readPasswordTwice(arg) : readWord()
                }
            }
            let client = await app.client(invocation)
            let response = await app.call {
                try await client.auth.userAdd(name, password: password, noPassword: noPassword.bool, timeout: unbounded)
            }
            app.display.authHeader(response, simple: "User \(name) created")
        }

        let delete = Command("delete <user name>", short: "Deletes a user") { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "user delete command requires user name as its argument")
            }
            let client = await app.client(invocation)
            let response = await app.call { try await client.auth.userDelete(invocation.args[0], timeout: unbounded) }
            app.display.authHeader(response, simple: "User \(invocation.args[0]) deleted")
        }

        let get = Command("get <user name> [options]", short: "Gets detailed information of a user")
        let detail = get.flags.bool("detail", nil, false, "Show permissions of roles granted to the user")
        get.run = { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "user get command requires user name as its argument")
            }
            let name = invocation.args[0]
            let client = await app.client(invocation)
            let response = await app.call { try await client.auth.userGet(name, timeout: unbounded) }
            if detail.bool {
                Out.line("User: \(name)")
                for role in response.roles {
                    Out.line()
                    let roleResponse = await app.call { try await client.auth.roleGet(role, timeout: unbounded) }
                    app.display.roleGet(role, roleResponse.raw)
                }
            } else {
                app.display.userGet(name, response.raw)
            }
        }

        let list = Command("list", short: "Lists all users") { invocation in
            if !invocation.args.isEmpty { exitWithError(.badArgs, "user list command requires no arguments") }
            let client = await app.client(invocation)
            let response = await app.call { try await client.auth.userList(timeout: unbounded) }
            app.display.userList(response.raw)
        }

        let passwd = Command("passwd <user name> [options]", short: "Changes password of user")
        let passwdInteractive = passwd.flags.bool("interactive", nil, true,
            "If true, read password from stdin instead of interactive terminal")
        passwd.run = { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "user passwd command requires user name as its argument")
            }
            let password = passwdInteractive.bool ? readPasswordTwice(invocation.args[0]) : readWord()
            let client = await app.client(invocation)
            let response = await app.call {
                try await client.auth.userChangePassword(invocation.args[0], password: password, timeout: unbounded)
            }
            app.display.authHeader(response, simple: "Password updated")
        }

        let grantRole = Command("grant-role <user name> <role name>", short: "Grants a role to a user") { invocation in
            guard invocation.args.count == 2 else {
                exitWithError(.badArgs, "user grant command requires user name and role name as its argument")
            }
            let (name, role) = (invocation.args[0], invocation.args[1])
            let client = await app.client(invocation)
            let response = await app.call { try await client.auth.userGrantRole(name, role: role, timeout: unbounded) }
            app.display.authHeader(response, simple: "Role \(role) is granted to user \(name)")
        }

        let revokeRole = Command("revoke-role <user name> <role name>", short: "Revokes a role from a user") { invocation in
            guard invocation.args.count == 2 else {
                exitWithError(.badArgs, "user revoke-role requires user name and role name as its argument")
            }
            let (name, role) = (invocation.args[0], invocation.args[1])
            let client = await app.client(invocation)
            let response = await app.call { try await client.auth.userRevokeRole(name, role: role, timeout: unbounded) }
            app.display.authHeader(response, simple: "Role \(role) is revoked from user \(name)")
        }

        user.add(add, delete, get, list, passwd, grantRole, revokeRole)
        return user
    }

    /// etcdctl's `fmt.Scanf("%s", &password)`: one whitespace-delimited word of stdin.
    static func readWord() -> String {
        let (line, _) = Stdin.shared.readLine()
        return String(decoding: line, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
    }

    static func readPasswordTwice(_ name: String) -> String {
        let first = Terminal.askPassword("Password of \(name): ")
        if first.isEmpty { exitWithError(.badArgs, "empty password") }
        let second = Terminal.askPassword("Type password of \(name) again for confirmation: ")
        if first != second { exitWithError(.badArgs, "given passwords are different") }
        return first
    }

    // MARK: - role

    static func roleCommand(_ app: App) -> Command {
        let role = Command("role <subcommand>", short: "Role related commands")

        let add = Command("add <role name>", short: "Adds a new role") { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "role add command requires role name as its argument")
            }
            let client = await app.client(invocation)
            let response = await app.call { try await client.auth.roleAdd(invocation.args[0], timeout: unbounded) }
            app.display.authHeader(response, simple: "Role \(invocation.args[0]) created")
        }

        let delete = Command("delete <role name>", short: "Deletes a role") { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "role delete command requires role name as its argument")
            }
            let client = await app.client(invocation)
            let response = await app.call { try await client.auth.roleDelete(invocation.args[0], timeout: unbounded) }
            app.display.authHeader(response, simple: "Role \(invocation.args[0]) deleted")
        }

        let get = Command("get <role name>", short: "Gets detailed information of a role") { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "role get command requires role name as its argument")
            }
            let client = await app.client(invocation)
            let response = await app.call { try await client.auth.roleGet(invocation.args[0], timeout: unbounded) }
            app.display.roleGet(invocation.args[0], response.raw)
        }

        let list = Command("list", short: "Lists all roles") { invocation in
            if !invocation.args.isEmpty { exitWithError(.badArgs, "role list command requires no arguments") }
            let client = await app.client(invocation)
            let response = await app.call { try await client.auth.roleList(timeout: unbounded) }
            app.display.roleList(response.raw)
        }

        let grant = Command("grant-permission [options] <role name> <permission type> <key> [endkey]",
                            short: "Grants a key to a role")
        let grantPrefix = grant.flags.bool("prefix", nil, false, "grant a prefix permission")
        let grantFromKey = grant.flags.bool("from-key", nil, false,
            "grant a permission of keys that are greater than or equal to the given key using byte compare")
        grant.run = { invocation in
            let args = invocation.args
            guard args.count >= 3 else {
                exitWithError(.badArgs, "role grant command requires role name, permission type, and key [endkey] as its argument")
            }
            guard let type = Permission.PermissionType(args[1]) else {
                exitWithError(.badArgs, "invalid permission type: \(args[1])")
            }
            let (key, end) = permissionRange(Array(args[2...]), prefix: grantPrefix.bool, fromKey: grantFromKey.bool)
            let client = await app.client(invocation)
            let response = await app.call {
                try await client.auth.roleGrantPermission(args[0], Permission(type: type, key: key, rangeEnd: end),
                                                          timeout: unbounded)
            }
            app.display.authHeader(response, simple: "Role \(args[0]) updated")
        }

        let revoke = Command("revoke-permission <role name> <key> [endkey]", short: "Revokes a key from a role")
        let revokePrefix = revoke.flags.bool("prefix", nil, false, "revoke a prefix permission")
        let revokeFromKey = revoke.flags.bool("from-key", nil, false,
            "revoke a permission of keys that are greater than or equal to the given key using byte compare")
        revoke.run = { invocation in
            let args = invocation.args
            guard args.count >= 2 else {
                exitWithError(.badArgs, "role revoke-permission command requires role name and key [endkey] as its argument")
            }
            let (key, end) = permissionRange(Array(args[1...]), prefix: revokePrefix.bool, fromKey: revokeFromKey.bool)
            let client = await app.client(invocation)
            let response = await app.call {
                try await client.auth.roleRevokePermission(args[0], key: key, rangeEnd: end, timeout: unbounded)
            }
            let text: String
            if end.isEmpty {
                text = "Permission of key \(args[1]) is revoked from role \(args[0])"
            } else if end.bytes != [0] {
                text = "Permission of range [\(args[1]), \(end.string)) is revoked from role \(args[0])"
            } else {
                text = "Permission of range [\(args[1]), <open ended> is revoked from role \(args[0])"
            }
            app.display.authHeader(response, simple: text)
        }

        role.add(add, delete, get, list, grant, revoke)
        return role
    }

    /// etcdctl's `permRange`: the key and range end of a permission from the arguments and
    /// `--prefix`/`--from-key`.
    static func permissionRange(_ args: [String], prefix: Bool, fromKey: Bool) -> (EtcdBytes, EtcdBytes) {
        let key = EtcdBytes(args[0])
        if key.isEmpty {
            if prefix && fromKey { exitWithError(.badArgs, "--from-key and --prefix flags are mutually exclusive") }
            return (EtcdBytes([0]), prefix || fromKey ? EtcdBytes([0]) : .empty)
        }
        if args.count == 1 {
            if prefix {
                if fromKey { exitWithError(.badArgs, "--from-key and --prefix flags are mutually exclusive") }
                return (key, key.prefixRangeEnd)
            }
            return (key, fromKey ? EtcdBytes([0]) : .empty)
        }
        if prefix { exitWithError(.badArgs, "unexpected endkey argument with --prefix flag") }
        if fromKey { exitWithError(.badArgs, "unexpected endkey argument with --from-key flag") }
        return (key, EtcdBytes(args[1]))
    }
}
