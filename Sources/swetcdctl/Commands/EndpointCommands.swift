import EtcdClient
import EtcdProto
import Foundation

/// endpoint health|status|hashkv.
enum EndpointCommands {
    static func register(_ app: App) {
        let endpoint = Command("endpoint <subcommand>", short: "Endpoint related commands")
        let cluster = endpoint.persistentFlags.bool("cluster", nil, false, "use all endpoints from the cluster member list")
        endpoint.add(healthCommand(app, cluster), statusCommand(app, cluster), hashKVCommand(app, cluster))
        app.root.add(endpoint)
    }

    /// The endpoints to address: `--endpoints` as given, or (with `--cluster`) every client
    /// URL of the member list.
    static func endpoints(_ app: App, _ invocation: Invocation, cluster: Flag) async -> [String] {
        guard cluster.bool else { return app.endpoints.stringSlice }
        var config = EtcdClient.Configuration(endpoints: app.endpointList)
        config.dialTimeout = app.dialTimeoutDuration
        config.tls = app.tlsSettings()
        let client = await app.makeClient(config)
        do {
            let members = try await client.cluster.memberList(timeout: app.commandTimeoutDuration)
            return members.raw.members.flatMap(\.clientUrls)
        } catch {
            app.logRetryFailure(error)
            exitWithError(.error, "failed to fetch endpoints from etcd cluster member list: \(error)")
        }
    }

    static func healthCommand(_ app: App, _ cluster: Flag) -> Command {
        Command("health", short: "Checks the healthiness of endpoints specified in `--endpoints` flag") { invocation in
            app.applyEnvironment(invocation.command)
            app.initDisplay()
            let tls = app.tlsSettings()
            let credentials = app.credentials()
            let targets = await endpoints(app, invocation, cluster: cluster)
            let results = await withTaskGroup(of: EndpointHealth.self) { group in
                for endpoint in targets {
                    group.addTask {
                        var config = EtcdClient.Configuration(endpoints: [endpoint])
                        config.dialTimeout = app.dialTimeoutDuration
                        config.tls = tls
                        config.credentials = credentials
                        let client: EtcdClient
                        do {
                            client = try EtcdClient(configuration: config)
                        } catch {
                            return EndpointHealth(endpoint: endpoint, health: false, took: "", error: "\(error)")
                        }
                        if credentials != nil {
                            do {
                                try await client.authenticate(timeout: app.dialTimeoutDuration)
                            } catch let error as EtcdError where error.kind == .authNotEnabled {
                                app.logRetryFailure(error)
                            } catch {
                                app.logRetryFailure(error)
                                return EndpointHealth(endpoint: endpoint, health: false, took: "", error: "\(error)")
                            }
                        }
                        let start = ContinuousClock.now
                        var health = EndpointHealth(endpoint: endpoint, health: false, took: "", error: "")
                        do {
                            _ = try await client.kv.get("health", timeout: app.commandTimeoutDuration)
                            health.health = true
                        } catch let error as EtcdError where error.kind == .permissionDenied {
                            app.logRetryFailure(error)
                            health.health = true
                        } catch {
                            app.logRetryFailure(error)
                            health.error = "\(error)"
                        }
                        let elapsed = ContinuousClock.now - start
                        health.took = GoFormat.duration(nanoseconds: elapsed.components.seconds * 1_000_000_000
                            + elapsed.components.attoseconds / 1_000_000_000)
                        await client.close()
                        return health
                    }
                }
                var list: [EndpointHealth] = []
                for await result in group { list.append(result) }
                return list
            }
            app.display.endpointHealth(results)
            if results.contains(where: { !$0.error.isEmpty }) { exitWithError(.error, "unhealthy cluster") }
        }
    }

    static func statusCommand(_ app: App, _ cluster: Flag) -> Command {
        Command("status", short: "Prints out the status of endpoints specified in `--endpoints` flag", long: """
            When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
            The items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.

            """) { invocation in
            let client = await app.client(invocation)
            var list: [(String, Etcdserverpb_StatusResponse)] = []
            var failed = false
            for endpoint in await endpoints(app, invocation, cluster: cluster) {
                do {
                    let status = try await client.maintenance.status(endpoint: endpoint, timeout: app.commandTimeoutDuration)
                    list.append((endpoint, status.raw))
                } catch {
                    failed = true
                    app.logRetryFailure(error, endpoint: endpoint)
                    Out.errLine("Failed to get the status of endpoint \(endpoint) (\(error))")
                }
            }
            app.display.endpointStatus(list)
            if failed { exitProcess(.error) }
        }
    }

    static func hashKVCommand(_ app: App, _ cluster: Flag) -> Command {
        let command = Command("hashkv", short: "Prints the KV history hash for each endpoint in --endpoints")
        let revision = command.persistentFlags.int64("rev", 0, "maximum revision to hash (default: all revisions)")
        command.run = { invocation in
            let client = await app.client(invocation)
            var list: [(String, Etcdserverpb_HashKVResponse)] = []
            var lastError: (any Error)?
            for endpoint in await endpoints(app, invocation, cluster: cluster) {
                do {
                    let hash = try await client.maintenance.hashKV(endpoint: endpoint, revision: revision.int,
                                                                   timeout: app.commandTimeoutDuration)
                    list.append((endpoint, hash.raw))
                } catch {
                    lastError = error
                    app.logRetryFailure(error, endpoint: endpoint)
                    Out.errLine("Failed to get the hash of endpoint \(endpoint) (\(error))")
                }
            }
            app.display.endpointHashKV(list)
            if let lastError { exitWithError(.error, lastError) }
        }
        return command
    }
}
