import EtcdClient
import EtcdProto
import Foundation

/// alarm, defrag, move-leader.
enum MaintenanceCommands {
    static func registerAlarmAndDefrag(_ app: App) {
        let alarm = Command("alarm <subcommand>", short: "Alarm related commands")
        alarm.add(
            Command("disarm", short: "Disarms all alarms") { invocation in
                if !invocation.args.isEmpty { exitWithError(.badArgs, "alarm disarm command accepts no arguments") }
                let client = await app.client(invocation)
                let response = await app.call {
                    try await client.maintenance.alarmDisarm(timeout: app.commandTimeoutDuration)
                }
                app.display.alarm(response.raw)
            },
            Command("list", short: "Lists all alarms") { invocation in
                if !invocation.args.isEmpty { exitWithError(.badArgs, "alarm list command accepts no arguments") }
                let client = await app.client(invocation)
                let response = await app.call { try await client.maintenance.alarmList(timeout: app.commandTimeoutDuration) }
                app.display.alarm(response.raw)
            })
        app.root.add(alarm, defragCommand(app))
    }

    static func defragCommand(_ app: App) -> Command {
        let command = Command("defrag", short: "Defragments the storage of the etcd members with given endpoints")
        let cluster = command.persistentFlags.bool("cluster", nil, false, "use all endpoints from the cluster member list")
        let dataDir = command.flags.string("data-dir", nil, "",
                                           "Optional. If present, defragments a data directory not in use by etcd.")
        command.run = { invocation in
            if !dataDir.string.isEmpty {
                Out.errLine("Failed to defragment etcd data[\(dataDir.string)] (offline defragmentation of a data "
                    + "directory is not supported by swetcdctl; defragment the running member instead)")
                exitProcess(.error)
            }
            let client = await app.client(invocation)
            var failures = 0
            for endpoint in await EndpointCommands.endpoints(app, invocation, cluster: cluster) {
                do {
                    try await client.maintenance.defragment(endpoint: endpoint, timeout: app.commandTimeoutDuration)
                    Out.line("Finished defragmenting etcd member[\(endpoint)]")
                } catch {
                    app.logRetryFailure(error, endpoint: endpoint)
                    Out.errLine("Failed to defragment etcd member[\(endpoint)] (\(error))")
                    failures += 1
                }
            }
            if failures != 0 { exitProcess(.error) }
        }
        return command
    }

    static func registerMoveLeader(_ app: App) {
        app.root.add(Command("move-leader <transferee-member-id>",
                             short: "Transfers leadership to another etcd cluster member.") { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "move-leader command needs 1 argument") }
            let target: UInt64
            do { target = try GoFormat.parseUInt(invocation.args[0], base: 16) } catch { exitWithError(.badArgs, error) }
            let config = app.clientConfiguration(invocation)
            let client = await app.makeClient(config)
            var leader: (endpoint: String, id: UInt64)?
            for endpoint in config.endpoints {
                do {
                    let status = try await client.maintenance.status(endpoint: endpoint, timeout: app.commandTimeoutDuration)
                    if status.raw.header.memberID == status.raw.leader {
                        leader = (endpoint, status.raw.leader)
                        break
                    }
                } catch {
                    app.logRetryFailure(error, endpoint: endpoint)
                    exitWithError(.error, error)
                }
            }
            guard let leader else {
                exitWithError(.badArgs, "no leader endpoint given at [\(config.endpoints.joined(separator: " "))]")
            }
            let response = await app.call {
                try await client.maintenance.moveLeader(to: target, endpoint: leader.endpoint,
                                                        timeout: app.commandTimeoutDuration)
            }
            app.display.moveLeader(leader.id, target, response.raw)
        })
    }
}
