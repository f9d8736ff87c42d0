import EtcdClient
import EtcdProto
import Foundation
import Synchronization

/// watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...], and `-i`.
enum WatchCommand {
    enum ArgsError: String, Error, CustomStringConvertible {
        case number = "bad number of arguments"
        case conflictEnv = "bad number of arguments (found conflicting environment key)"
        case separator = "bad number of arguments (found separator --, but no commands)"
        case interactive = "args[0] must be 'watch' for interactive calls"
        var description: String { rawValue }
    }

    struct Settings {
        var prefix = false
        var revision: Int64 = 0
        var prevKV = false
    }

    static func register(_ app: App) {
        let command = Command("watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
                              short: "Watches events stream on keys or prefixes")
        addFlags(command.flags)
        command.run = { invocation in
            let envKey = app.environment["ETCDCTL_WATCH_KEY"] ?? ""
            let envRange = app.environment["ETCDCTL_WATCH_RANGE_END"] ?? ""
            if envKey.isEmpty && !envRange.isEmpty {
                exitWithError(.badArgs, "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=\(GoFormat.quote(envRange))")
            }
            let flags = command.flags
            if flags.lookup("interactive")!.bool {
                await interactive(app, invocation, envKey: envKey, envRange: envRange)
            }
            let parsed: (watch: [String], exec: [String])
            do {
                parsed = try parseArgs(osArgs: invocation.rawArgs, commandArgs: invocation.args,
                                       envKey: envKey, envRange: envRange)
            } catch {
                exitWithError(.badArgs, error)
            }
            let settings = Settings(prefix: flags.lookup("prefix")!.bool, revision: flags.lookup("rev")!.int,
                                    prevKV: flags.lookup("prev-kv")!.bool)
            let client = await app.client(invocation, extraEnvNames: ["watch-key", "watch-range-end"])
            let stream: WatchStream
            do {
                stream = try open(client, parsed.watch, settings)
            } catch {
                exitWithError(.badArgs, error)
            }
            await printResponses(app, stream, exec: parsed.exec)
            exitWithError(.interrupted, "watch is canceled by the server")
        }
        app.root.add(command)
    }

    static func addFlags(_ flags: FlagSet) {
        _ = flags.bool("interactive", "i", false, "Interactive mode")
        _ = flags.bool("prefix", nil, false, "Watch on a prefix if prefix is set")
        _ = flags.int64("rev", 0, "Revision to start watching")
        _ = flags.bool("prev-kv", nil, false, "get the previous key-value pair before the event happens")
    }

    /// etcdctl's `getWatchChan`.
    static func open(_ client: EtcdClient, _ args: [String], _ settings: Settings) throws -> WatchStream {
        guard let first = args.first else { throw ArgsError.number }
        var key = EtcdBytes(first)
        var end = EtcdBytes.empty
        if args.count == 2 {
            if settings.prefix { throw GoError("`range_end` and `--prefix` are mutually exclusive") }
            end = EtcdBytes(args[1])
        }
        if settings.prefix {
            if key.isEmpty {
                key = EtcdBytes([0])
                end = EtcdBytes([0])
            } else {
                end = key.prefixRangeEnd
            }
        }
        let options = WatchOptions(startRevision: settings.revision, prevKV: settings.prevKV, requireLeader: true)
        return client.watch.watch(.range(key, end), options: options)
    }

    /// etcdctl's `printWatchCh`: prints every response, runs the exec command per event.
    static func printResponses(_ app: App, _ stream: WatchStream, exec: [String]) async {
        do {
            for try await response in stream {
                handle(app, response, exec: exec)
            }
        } catch {
            // The canceled response itself was delivered (and printed) before the error.
        }
    }

    private static func handle(_ app: App, _ response: WatchResponse, exec: [String]) {
        let raw = response.raw
        if raw.canceled {
            Out.errLine("watch was canceled (\(cancelError(raw)))")
        }
        if response.isProgressNotify {
            Out.line("progress notify: \(raw.header.revision)")
        }
        app.display.watch(raw)
        guard !exec.isEmpty else { return }
        for event in raw.events {
            var environment = ProcessInfo.processInfo.environment
            environment["ETCD_WATCH_REVISION"] = String(raw.header.revision)
            environment["ETCD_WATCH_EVENT_TYPE"] = event.type == .delete ? "\"DELETE\"" : "\"PUT\""
            environment["ETCD_WATCH_KEY"] = String(decoding: GoFormat.quote([UInt8](event.kv.key)), as: UTF8.self)
            environment["ETCD_WATCH_VALUE"] = String(decoding: GoFormat.quote([UInt8](event.kv.value)), as: UTF8.self)
            if let failure = Subprocess.run(exec, environment: environment) {
                let quoted = "[" + exec.map { GoFormat.quote($0) }.joined(separator: " ") + "]"
                Out.errLine("command \(quoted) error (\(failure))")
                exit(1)
            }
        }
    }

    /// clientv3's `WatchResponse.Err()` text for a canceled response.
    static func cancelError(_ raw: Etcdserverpb_WatchResponse) -> String {
        if raw.compactRevision != 0 { return EtcdError.Kind.compacted.rawValue }
        if !raw.cancelReason.isEmpty {
            return EtcdError(code: .failedPrecondition, message: raw.cancelReason).description
        }
        return EtcdError.Kind.futureRevision.rawValue
    }

    // MARK: - Arguments

    /// etcdctl's `parseWatchArgs` (non-interactive): splits the command line at `--` into
    /// the watch arguments and the command to execute, honouring `ETCDCTL_WATCH_KEY`.
    static func parseArgs(osArgs: [String], commandArgs: [String], envKey: String, envRange: String) throws
        -> (watch: [String], exec: [String])
    {
        var raw = ["etcdctl"] + osArgs
        if let index = raw.firstIndex(of: "watch") { raw = Array(raw[(index + 1)...]) }
        var watchArgs = commandArgs
        let separator = raw.firstIndex(of: "--")
        if let separator, separator == raw.count - 1 { throw ArgsError.separator }
        if separator == nil && raw.isEmpty && envKey.isEmpty { throw ArgsError.number }
        if let separator, !envKey.isEmpty {
            var r = raw.count - 1
            for w in stride(from: watchArgs.count - 1, through: 0, by: -1) {
                if watchArgs[w] == raw[r] {
                    r -= 1
                    continue
                }
                if r == separator { throw ArgsError.conflictEnv }
            }
        }
        if separator == nil && !watchArgs.isEmpty && !envKey.isEmpty { throw ArgsError.conflictEnv }
        var exec: [String] = []
        if let separator { exec = Array(raw[(separator + 1)...]) }
        if !envKey.isEmpty {
            watchArgs = [envKey] + (envRange.isEmpty ? [] : [envRange]) + watchArgs
        }
        guard separator != nil, let firstExec = exec.first else { return (watchArgs, []) }
        var end = watchArgs.count - 1
        while end >= 0 && watchArgs[end] != firstExec { end -= 1 }
        return (Array(watchArgs[..<max(end, 0)]), exec)
    }

    /// The interactive form of `parseWatchArgs` for one `watch ...` line of `watch -i`.
    static func parseInteractive(_ args: [String], envKey: String, envRange: String) throws
        -> (watch: [String], exec: [String], settings: Settings)
    {
        guard args.first == "watch" else { throw ArgsError.interactive }
        let lineArgs = Array(args.dropFirst())
        if let separator = lineArgs.firstIndex(of: "--"), separator == lineArgs.count - 1 {
            throw ArgsError.separator
        }
        let flags = FlagSet()
        addFlags(flags)
        _ = flags.bool("help", "h", false, "help for watch")
        let positional: [String]
        do { positional = try flags.parse(lineArgs) } catch { throw GoError(error.description) }
        let hasSeparator = lineArgs.contains("--")
        if !hasSeparator && envKey.isEmpty && positional.isEmpty { throw ArgsError.number }
        if !hasSeparator && !positional.isEmpty && !envKey.isEmpty { throw ArgsError.conflictEnv }
        var exec: [String] = []
        if let separator = lineArgs.firstIndex(of: "--") { exec = Array(lineArgs[(separator + 1)...]) }
        var watchArgs = positional
        if !envKey.isEmpty { watchArgs = [envKey] + (envRange.isEmpty ? [] : [envRange]) + watchArgs }
        let settings = Settings(prefix: flags.lookup("prefix")!.bool, revision: flags.lookup("rev")!.int,
                                prevKV: flags.lookup("prev-kv")!.bool)
        guard let firstExec = exec.first else { return (watchArgs, [], settings) }
        var end = watchArgs.count - 1
        while end >= 0 && watchArgs[end] != firstExec { end -= 1 }
        return (Array(watchArgs[..<max(end, 0)]), exec, settings)
    }

    // MARK: - Interactive

    static func interactive(_ app: App, _ invocation: Invocation, envKey: String, envRange: String) async -> Never {
        let client = await app.client(invocation, extraEnvNames: ["watch-key", "watch-range-end"])
        let streams = Synchronization.Mutex<[WatchStream]>([])
        for await item in StdinLines.stream() {
            guard case .line(let raw) = item else {
                exitWithError(.invalidInput, "Error reading watch request line: EOF")
            }
            let line = raw.hasSuffix("\n") ? String(raw.dropLast()) : raw
            let args = TxnParser.argify(line)
            guard let first = args.first else {
                Out.errLine("Invalid command: \(line) (watch and progress supported)")
                continue
            }
            switch first {
            case "watch":
                if args.count < 2 && envKey.isEmpty {
                    Out.errLine("Invalid command \(line) (command type or key is not provided)")
                    continue
                }
                let parsed: (watch: [String], exec: [String], settings: Settings)
                do {
                    parsed = try parseInteractive(args, envKey: envKey, envRange: envRange)
                } catch {
                    exitWithError(.badArgs, error)
                }
                do {
                    let stream = try open(client, parsed.watch, parsed.settings)
                    streams.withLock { $0.append(stream) }
                    let exec = parsed.exec
                    Task { await printResponses(app, stream, exec: exec) }
                } catch {
                    Out.errLine("Invalid command \(line) (\(error))")
                }
            case "progress":
                for stream in streams.withLock({ $0 }) { stream.requestProgress() }
            default:
                Out.errLine("Invalid command \(line) (only support watch)")
            }
        }
        exitWithError(.invalidInput, "Error reading watch request line: EOF")
    }
}

/// Lines of standard input, read on a thread of their own so that blocking reads do not hold
/// up the tasks printing watch events.
enum StdinLines {
    enum Item: Sendable { case line(String), eof }

    static func stream() -> AsyncStream<Item> {
        let (stream, continuation) = AsyncStream<Item>.makeStream()
        let thread = Thread {
            while true {
                let (bytes, eof) = Stdin.shared.readLine()
                if eof {
                    continuation.yield(.eof)
                    continuation.finish()
                    return
                }
                continuation.yield(.line(String(decoding: bytes, as: UTF8.self)))
            }
        }
        thread.start()
        return stream
    }
}

/// Running a command with inherited stdout/stderr, as Go's `exec.Cmd.Run` does.
enum Subprocess {
    /// Runs `arguments`; returns Go's error text on failure (`exit status 1`, ...), nil on
    /// success.
    static func run(_ arguments: [String], environment: [String: String]) -> String? {
        guard let program = arguments.first else { return "exec: no command" }
        let process = Process()
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
        } else {
            let path = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
            guard let found = path.map({ "\($0)/\(program)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
            else { return "exec: \(GoFormat.quote(program)): executable file not found in $PATH" }
            process.executableURL = URL(fileURLWithPath: found)
        }
        process.arguments = Array(arguments.dropFirst())
        process.environment = environment
        process.standardInput = FileHandle.standardInput
        process.standardOutput = FileHandle.standardOutput
        process.standardError = FileHandle.standardError
        let path = process.executableURL?.path ?? program
        if !FileManager.default.fileExists(atPath: path) { return "fork/exec \(path): no such file or directory" }
        if !FileManager.default.isExecutableFile(atPath: path) { return "fork/exec \(path): permission denied" }
        do {
            try process.run()
        } catch {
            return "fork/exec \(path): \(error.localizedDescription)"
        }
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal {
            return "signal: \(signalName(process.terminationStatus))"
        }
        return process.terminationStatus == 0 ? nil : "exit status \(process.terminationStatus)"
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "interrupt"
        case SIGKILL: "killed"
        case SIGTERM: "terminated"
        default: String(cString: strsignal(signal))
        }
    }
}
