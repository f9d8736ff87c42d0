import Foundation

/// Finds the command, parses its flags and runs it, with cobra's and etcdctl's messages for
/// everything that can go wrong on the way.
enum Dispatcher {
    static func run(_ app: App, _ args: [String]) async -> Never {
        let root = app.root
        // `etcdctl --help ...` shows the root page, whatever follows.
        if let first = args.first, first == "--help" || first == "-h" {
            Out.print(root.helpText)
            exit(0)
        }
        let (command, rest) = root.find(args)
        let positional: [String]
        do {
            positional = try command.allFlags.parse(rest)
        } catch {
            // cobra: the error, the usage (etcdctl's usage function writes it to stdout and
            // hands cobra an empty string, which cobra prints as an empty line), then
            // etcdctl's own `Error:` line.
            Out.errLine("Error: \(error.description)")
            Out.print(command.helpText)
            Out.errLine("")
            exitWithError(.error, error.description)
        }
        if command.helpFlag.bool {
            Out.print(command.helpText)
            exit(0)
        }
        if command.isRoot, let word = positional.first {
            var message = "unknown command \(GoFormat.quote(word)) for \"\(root.name)\""
            let suggestions = root.suggestions(for: word)
            if !suggestions.isEmpty {
                message += "\n\nDid you mean this?\n" + suggestions.map { "\t\($0)\n" }.joined()
            }
            Out.errLine("Error: \(message)")
            Out.errLine("Run '\(root.name) --help' for usage.")
            exitWithError(.error, message)
        }
        guard let run = command.run else {
            Out.print(command.helpText)
            exit(0)
        }
        do {
            try await run(Invocation(command: command, args: positional, rawArgs: args))
        } catch {
            exitWithError(.error, error)
        }
        exit(0)
    }
}

enum Commands {
    static func registerAll(_ app: App) {
        KVCommands.register(app)
        MaintenanceCommands.registerAlarmAndDefrag(app)
        EndpointCommands.register(app)
        MaintenanceCommands.registerMoveLeader(app)
        WatchCommand.register(app)
        app.root.add(Command("version", short: "Prints the version of etcdctl") { _ in
            Out.line("etcdctl version: \(Version.etcdctl)")
            Out.line("API version: \(Version.api)")
        })
        LeaseCommands.register(app)
        MemberCommands.register(app)
        SnapshotCommands.register(app)
        MirrorCommands.register(app)
        ConcurrencyCommands.register(app)
        AuthCommands.register(app)
        CheckCommands.register(app)
        registerCobraCommands(app)
    }

    /// `help` and `completion`, which cobra adds to every program.
    static func registerCobraCommands(_ app: App) {
        let root = app.root
        let help = Command("help [command]", short: "Help about any command")
        help.run = { invocation in
            let (target, rest) = root.find(invocation.args)
            if target === root && !rest.isEmpty {
                Out.errLine("Unknown help topic [" + rest.map { "`\($0)`" }.joined(separator: " ") + "]")
                Out.print(root.help(withHelpFlag: false))
                return
            }
            Out.print(target.helpText)
        }
        let completion = Command("completion", short: "Generate the autocompletion script for the specified shell")
        for shell in ["bash", "fish", "powershell", "zsh"] {
            completion.add(Command(shell, short: "Generate the autocompletion script for \(shell)") { _ in
                let names = root.subcommands.map(\.name).joined(separator: " ")
                switch shell {
                case "bash": Out.line("complete -W \"\(names)\" etcdctl swetcdctl")
                case "zsh": Out.line("compdef '_arguments \"1: :(\(names))\"' etcdctl swetcdctl")
                case "fish": Out.line("complete -c swetcdctl -f -a \"\(names)\"")
                default: Out.line("Register-ArgumentCompleter -Native -CommandName swetcdctl -ScriptBlock { '\(names)'.Split(' ') }")
                }
            })
        }
        root.add(completion, help)
    }
}
