import EtcdClient
import EtcdProto
import Foundation

/// lease grant|revoke|timetolive|list|keep-alive.
enum LeaseCommands {
    /// A lease ID argument in hexadecimal (etcdctl's `leaseFromArgs`).
    static func leaseID(_ text: String) -> LeaseID {
        do {
            return LeaseID(try GoFormat.parseInt(text, base: 16))
        } catch {
            exitWithError(.badArgs, "bad lease ID arg (\(error)), expecting ID in Hex")
        }
    }

    /// No deadline: etcdctl runs these with `context.TODO()`.
    static let unbounded = Duration.seconds(Int64(Int32.max))

    static func register(_ app: App) {
        let lease = Command("lease <subcommand>", short: "Lease related commands")

        let grant = Command("grant <ttl>", short: "Creates leases") { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "lease grant command needs TTL argument") }
            let ttl: Int64
            do { ttl = try GoFormat.parseInt(invocation.args[0]) } catch { exitWithError(.badArgs, "bad TTL (\(error))") }
            let client = await app.client(invocation)
            let response = await app.call(wrap: { "failed to grant lease (\($0))" }) {
                try await client.lease.grant(ttl: ttl, timeout: app.commandTimeoutDuration)
            }
            app.display.grant(response.raw)
        }

        let revoke = Command("revoke <leaseID>", short: "Revokes leases") { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "lease revoke command needs 1 argument") }
            let id = leaseID(invocation.args[0])
            let client = await app.client(invocation)
            let response = await app.call(wrap: { "failed to revoke lease (\($0))" }) {
                try await client.lease.revoke(id, timeout: app.commandTimeoutDuration)
            }
            app.display.revoke(id, response.raw)
        }

        let timeToLive = Command("timetolive <leaseID> [options]", short: "Get lease information")
        let keys = timeToLive.flags.bool("keys", nil, false, "Get keys attached to this lease")
        timeToLive.run = { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "lease timetolive command needs lease ID as argument")
            }
            let id = leaseID(invocation.args[0])
            let client = await app.client(invocation)
            let response = await app.call(.badConnection) {
                try await client.lease.timeToLive(id, keys: keys.bool, timeout: unbounded)
            }
            app.display.timeToLive(response.raw, keys: keys.bool)
        }

        let list = Command("list", short: "List all active leases") { invocation in
            let client = await app.client(invocation)
            let response = await app.call(.badConnection) { try await client.lease.leases(timeout: unbounded) }
            app.display.leases(response.raw)
        }

        let keepAlive = Command("keep-alive [options] <leaseID>", short: "Keeps leases alive (renew)")
        let once = keepAlive.flags.bool("once", nil, false,
                                        "Resets the keep-alive time to its original value and exits immediately")
        keepAlive.run = { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "lease keep-alive command needs lease ID as argument")
            }
            let id = leaseID(invocation.args[0])
            let client = await app.client(invocation)
            if once.bool {
                do {
                    let response = try await client.lease.keepAliveOnce(id, timeout: unbounded)
                    app.display.keepAlive(response.raw)
                } catch {
                    exitWithError(.badConnection, error)
                }
                return
            }
            do {
                for try await response in client.lease.keepAlive(id) {
                    app.display.keepAlive(response.raw)
                }
            } catch {}
            if app.display.format == .simple { Out.line("lease \(id.hex) expired or revoked.") }
        }

        lease.add(grant, revoke, timeToLive, list, keepAlive)
        app.root.add(lease)
    }
}

/// member add|remove|update|list|promote.
enum MemberCommands {
    static func memberID(_ text: String) -> UInt64 {
        do {
            return try GoFormat.parseUInt(text, base: 16)
        } catch {
            exitWithError(.badArgs, "bad member ID arg (\(error)), expecting ID in Hex")
        }
    }

    static func register(_ app: App) {
        let member = Command("member <subcommand>", short: "Membership related commands")

        let add = Command("add <memberName> [options]", short: "Adds a member into the cluster")
        let addPeerURLs = add.flags.string("peer-urls", nil, "", "comma separated peer URLs for the new member.")
        let learner = add.flags.bool("learner", nil, false, "indicates if the new member is raft learner")
        add.run = { invocation in
            let args = invocation.args
            if args.isEmpty { exitWithError(.badArgs, "member name not provided") }
            if args.count > 1 {
                var message = "too many arguments"
                for arg in args where arg.lowercased().hasPrefix("http") {
                    message += ", did you mean --peer-urls=\(arg)"
                }
                exitWithError(.badArgs, message)
            }
            let name = args[0]
            let urlsText = addPeerURLs.string
            if urlsText.isEmpty { exitWithError(.badArgs, "member peer urls not provided") }
            let urls = urlsText.components(separatedBy: ",")
            let client = await app.client(invocation)
            let response = await app.call {
                try await client.cluster.memberAdd(peerURLs: urls, isLearner: learner.bool,
                                                   timeout: app.commandTimeoutDuration)
            }
            app.display.memberAdd(response.raw)
            if app.display.format == .simple {
                let newID = response.raw.member.id
                var conf: [String] = []
                for m in response.raw.members {
                    for url in m.peerUrls { conf.append("\(m.id == newID ? name : m.name)=\(url)") }
                }
                Out.print("\n")
                Out.line("ETCD_NAME=\(GoFormat.quote(name))")
                Out.line("ETCD_INITIAL_CLUSTER=\(GoFormat.quote(conf.joined(separator: ",")))")
                Out.line("ETCD_INITIAL_ADVERTISE_PEER_URLS=\(GoFormat.quote(urlsText))")
                Out.line("ETCD_INITIAL_CLUSTER_STATE=\"existing\"")
            }
        }

        let remove = Command("remove <memberID>", short: "Removes a member from the cluster") { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "member ID is not provided") }
            let id = memberID(invocation.args[0])
            let client = await app.client(invocation)
            let response = await app.call {
                try await client.cluster.memberRemove(id, timeout: app.commandTimeoutDuration)
            }
            app.display.memberChange("removed from", id, response)
        }

        let update = Command("update <memberID> [options]", short: "Updates a member in the cluster")
        let updatePeerURLs = update.flags.string("peer-urls", nil, "", "comma separated peer URLs for the updated member.")
        update.run = { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "member ID is not provided") }
            let id = memberID(invocation.args[0])
            if updatePeerURLs.string.isEmpty { exitWithError(.badArgs, "member peer urls not provided") }
            let urls = updatePeerURLs.string.components(separatedBy: ",")
            let client = await app.client(invocation)
            let response = await app.call {
                try await client.cluster.memberUpdate(id, peerURLs: urls, timeout: app.commandTimeoutDuration)
            }
            app.display.memberChange("updated in", id, response)
        }

        let list = Command("list", short: "Lists all members in the cluster", long: """
            When --write-out is set to simple, this command prints out comma-separated member lists for each endpoint.
            The items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.

            """) { invocation in
            let client = await app.client(invocation)
            let response = await app.call { try await client.cluster.memberList(timeout: app.commandTimeoutDuration) }
            app.display.memberList(response.raw)
        }

        let promote = Command("promote <memberID>", short: "Promotes a non-voting member in the cluster", long: """
            Promotes a non-voting learner member to a voting one in the cluster.

            """) { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "member ID is not provided") }
            let id = memberID(invocation.args[0])
            let client = await app.client(invocation)
            let response = await app.call {
                try await client.cluster.memberPromote(id, timeout: app.commandTimeoutDuration)
            }
            app.display.memberChange("promoted in", id, response)
        }

        member.add(add, remove, update, list, promote)
        app.root.add(member)
    }
}
