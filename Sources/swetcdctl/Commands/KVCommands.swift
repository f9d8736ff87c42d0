import EtcdClient
import EtcdProto
import Foundation

/// get, put, del, txn, compaction.
enum KVCommands {
    static func register(_ app: App) {
        app.root.add(getCommand(app), putCommand(app), delCommand(app), txnCommand(app), compactionCommand(app))
    }

    // MARK: - get

    static func getCommand(_ app: App) -> Command {
        let command = Command("get [options] <key> [range_end]", short: "Gets the key or a range of keys")
        addGetFlags(command.flags)
        command.run = { invocation in
            let request = try getRequest(invocation.args, flags: command.flags)
            let client = await app.client(invocation)
            let raw = await app.call {
                try await client.kv.get(.range(EtcdBytes(request.key), EtcdBytes(request.rangeEnd)),
                                        options: request.options, timeout: app.commandTimeoutDuration).raw
            }
            if command.flags.lookup("print-value-only")!.bool {
                guard app.display.format == .simple else {
                    exitWithError(.badArgs, "print-value-only is only for `--write-out=simple`")
                }
                app.display.valueOnly = true
            }
            app.display.get(raw)
        }
        return command
    }

    static func addGetFlags(_ flags: FlagSet) {
        _ = flags.string("consistency", nil, "l", "Linearizable(l) or Serializable(s)")
        _ = flags.string("order", nil, "", "Order of results; ASCEND or DESCEND (ASCEND by default)")
        _ = flags.string("sort-by", nil, "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION")
        _ = flags.int64("limit", 0, "Maximum number of results")
        _ = flags.bool("prefix", nil, false, "Get keys with matching prefix")
        _ = flags.bool("from-key", nil, false, "Get keys that are greater than or equal to the given key using byte compare")
        _ = flags.int64("rev", 0, "Specify the kv revision")
        _ = flags.bool("keys-only", nil, false, "Get only the keys")
        _ = flags.bool("print-value-only", nil, false, "Only write values when using the \"simple\" output format")
    }

    struct GetRequest {
        var key: [UInt8]
        var rangeEnd: [UInt8]
        var options: GetOptions
    }

    /// etcdctl's `getGetOp`: validates the arguments (exiting as it does) and builds the read.
    static func getRequest(_ args: [String], flags: FlagSet) throws -> GetRequest {
        let prefix = flags.lookup("prefix")!.bool
        let fromKey = flags.lookup("from-key")!.bool
        if args.isEmpty {
            exitWithError(.badArgs, "get command needs one argument as key and an optional argument as range_end")
        }
        if prefix && fromKey {
            exitWithError(.badArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one")
        }
        var options = GetOptions()
        switch flags.lookup("consistency")!.string {
        case "s": options.serializable = true
        case "l": break
        case let other: exitWithError(.badFeature, "unknown consistency flag \(GoFormat.quote(other))")
        }
        var (key, end) = explicitRange(args, prefix: prefix, fromKey: fromKey)
        options.limit = flags.lookup("limit")!.int
        let revision = flags.lookup("rev")!.int
        if revision > 0 { options.revision = revision }

        let orderText = flags.lookup("order")!.string
        var order = SortOrder.none
        switch orderText.uppercased() {
        case "ASCEND": order = .ascend
        case "DESCEND": order = .descend
        case "": break
        default: exitWithError(.badFeature, "bad sort order \(orderText)")
        }
        let targetText = flags.lookup("sort-by")!.string
        var target = SortTarget.key
        switch targetText.uppercased() {
        case "CREATE": target = .createRevision
        case "KEY": target = .key
        case "MODIFY": target = .modRevision
        case "VALUE": target = .value
        case "VERSION": target = .version
        case "": break
        default: exitWithError(.badFeature, "bad sort target \(targetText)")
        }
        // Keys come sorted ascending anyway: etcd's client drops that order so the server
        // does not have to sort.
        if target == .key && order == .ascend { order = .none }
        options.sortOrder = order
        options.sortTarget = target

        (key, end) = applyRangeFlags(key, end, prefix: prefix, fromKey: fromKey)
        options.keysOnly = flags.lookup("keys-only")!.bool
        return GetRequest(key: key, rangeEnd: end, options: options)
    }

    /// The key and the optional range end given as arguments (none with `--prefix`/`--from-key`).
    static func explicitRange(_ args: [String], prefix: Bool, fromKey: Bool) -> ([UInt8], [UInt8]) {
        guard args.count > 1 else { return (Array(args[0].utf8), []) }
        if prefix || fromKey {
            exitWithError(.badArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set")
        }
        return (Array(args[0].utf8), Array(args[1].utf8))
    }

    /// `--prefix` and `--from-key` as etcd's client applies them (an empty key with either
    /// means every key).
    static func applyRangeFlags(_ key: [UInt8], _ end: [UInt8], prefix: Bool, fromKey: Bool) -> ([UInt8], [UInt8]) {
        if prefix { return key.isEmpty ? ([0], [0]) : (key, EtcdBytes(key).prefixRangeEnd.bytes) }
        if fromKey { return (key.isEmpty ? [0] : key, [0]) }
        return (key, end)
    }

    // MARK: - put

    static func putCommand(_ app: App) -> Command {
        let command = Command("put [options] <key> <value> (<value> can also be given from stdin)",
                              short: "Puts the given key into the store", long: putLong)
        addPutFlags(command.flags)
        command.run = { invocation in
            let (key, value, options) = putRequest(invocation.args, flags: command.flags, stdin: Stdin.shared)
            let client = await app.client(invocation)
            let raw = await app.call {
                try await client.kv.put(EtcdBytes(key), EtcdBytes(value), options: options,
                                        timeout: app.commandTimeoutDuration).raw
            }
            app.display.put(raw)
        }
        return command
    }

    static let putLong = """

        Puts the given key into the store.

        When <value> begins with '-', <value> is interpreted as a flag.
        Insert '--' for workaround:

        $ put <key> -- <value>
        $ put -- <key> <value>

        If <value> isn't given as a command line argument and '--ignore-value' is not specified,
        this command tries to read the value from standard input.

        If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
        this command tries to read the value from standard input.

        For example,
        $ cat file | put <key>
        will store the content of the file to <key>.

        """

    static func addPutFlags(_ flags: FlagSet) {
        _ = flags.string("lease", nil, "0", "lease ID (in hexadecimal) to attach to the key")
        _ = flags.bool("prev-kv", nil, false, "return the previous key-value pair before modification")
        _ = flags.bool("ignore-value", nil, false, "updates the key using its current value")
        _ = flags.bool("ignore-lease", nil, false, "updates the key using its current lease")
    }

    /// etcdctl's `getPutOp`.
    static func putRequest(_ args: [String], flags: FlagSet, stdin: Stdin) -> ([UInt8], [UInt8], PutOptions) {
        let usage = "put command needs 1 argument and input from stdin or 2 arguments"
        if args.isEmpty { exitWithError(.badArgs, usage) }
        let key = Array(args[0].utf8)
        let ignoreValue = flags.lookup("ignore-value")!.bool
        if ignoreValue && args.count > 1 {
            exitWithError(.badArgs, "put command needs only 1 argument when 'ignore-value' is set")
        }
        var value: [UInt8] = []
        if !ignoreValue {
            if args.count > 1 {
                value = Array(args[1].utf8)
            } else {
                value = stdin.readAll()
                if value.isEmpty { exitWithError(.badArgs, usage) }
            }
        }
        let leaseText = flags.lookup("lease")!.string
        let id: Int64
        do {
            id = try GoFormat.parseInt(leaseText, base: 16)
        } catch {
            exitWithError(.badArgs, "bad lease ID (\(error)), expecting ID in Hex")
        }
        var options = PutOptions()
        options.lease = LeaseID(id)
        options.prevKV = flags.lookup("prev-kv")!.bool
        options.ignoreValue = ignoreValue
        options.ignoreLease = flags.lookup("ignore-lease")!.bool
        return (key, value, options)
    }

    // MARK: - del

    static func delCommand(_ app: App) -> Command {
        let command = Command("del [options] <key> [range_end]",
                              short: "Removes the specified key or range of keys [key, range_end)")
        addDelFlags(command.flags)
        command.run = { invocation in
            let (key, end, prevKV) = deleteRequest(invocation.args, flags: command.flags)
            let client = await app.client(invocation)
            let raw = await app.call {
                try await client.kv.delete(.range(EtcdBytes(key), EtcdBytes(end)), prevKV: prevKV,
                                           timeout: app.commandTimeoutDuration).raw
            }
            app.display.delete(raw)
        }
        return command
    }

    static func addDelFlags(_ flags: FlagSet) {
        _ = flags.bool("prefix", nil, false, "delete keys with matching prefix")
        _ = flags.bool("prev-kv", nil, false, "return deleted key-value pairs")
        _ = flags.bool("from-key", nil, false,
                       "delete keys that are greater than or equal to the given key using byte compare")
    }

    /// etcdctl's `getDelOp`.
    static func deleteRequest(_ args: [String], flags: FlagSet) -> ([UInt8], [UInt8], Bool) {
        let prefix = flags.lookup("prefix")!.bool
        let fromKey = flags.lookup("from-key")!.bool
        if args.isEmpty || args.count > 2 {
            exitWithError(.badArgs, "del command needs one argument as key and an optional argument as range_end")
        }
        if prefix && fromKey {
            exitWithError(.badArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one")
        }
        var (key, end) = explicitRange(args, prefix: prefix, fromKey: fromKey)
        (key, end) = applyRangeFlags(key, end, prefix: prefix, fromKey: fromKey)
        return (key, end, flags.lookup("prev-kv")!.bool)
    }

    // MARK: - compaction

    static func compactionCommand(_ app: App) -> Command {
        let command = Command("compaction [options] <revision>", short: "Compacts the event history in etcd")
        let physical = command.flags.bool("physical", nil, false,
                                          "'true' to wait for compaction to physically remove all old revisions")
        command.run = { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "compaction command needs 1 argument") }
            let revision: Int64
            do { revision = try GoFormat.parseInt(invocation.args[0]) } catch { exitWithError(.error, error) }
            let client = await app.client(invocation)
            _ = await app.call {
                try await client.kv.compact(revision, physical: physical.bool, timeout: app.commandTimeoutDuration)
            }
            Out.line("compacted revision \(revision)")
        }
        return command
    }
}

/// The process's standard input, read as etcdctl reads it: all at once (put) or line by line
/// (txn, watch -i).
final class Stdin: @unchecked Sendable {
    static let shared = Stdin()
    /// A stdin that is already at its end.
    static let empty = Stdin(atEOF: true)
    private var buffer: [UInt8] = []
    private var atEOF = false

    private init(atEOF: Bool = false) { self.atEOF = atEOF }

    private func fill() -> Bool {
        if atEOF { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = read(0, &chunk, chunk.count)
        if count <= 0 {
            atEOF = true
            return false
        }
        buffer += chunk[0..<count]
        return true
    }

    func readAll() -> [UInt8] {
        while fill() {}
        defer { buffer = [] }
        return buffer
    }

    /// The next line including its `\n`; nil with the partial rest at end of input (Go's
    /// `ReadString('\n')` returning `io.EOF`).
    func readLine() -> (line: [UInt8], eof: Bool) {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[...newline])
                buffer.removeSubrange(...newline)
                return (line, false)
            }
            if !fill() {
                defer { buffer = [] }
                return (buffer, true)
            }
        }
    }
}
