import EtcdClient
import EtcdProto
import Foundation

extension KVCommands {
    static func txnCommand(_ app: App) -> Command {
        let command = Command("txn [options]", short: "Txn processes all the requests in one transaction")
        let interactive = command.flags.bool("interactive", "i", false, "Input transaction in interactive mode")
        command.run = { invocation in
            if !invocation.args.isEmpty { exitWithError(.badArgs, "txn command does not accept argument") }
            let client = await app.client(invocation)
            func prompt(_ text: String) { if interactive.bool { Out.line(text) } }
            prompt("compares:")
            let compares = TxnParser.readCompares(Stdin.shared)
            prompt("success requests (get, put, del):")
            let success = TxnParser.readOps(Stdin.shared)
            prompt("failure requests (get, put, del):")
            let failure = TxnParser.readOps(Stdin.shared)
            var request = Etcdserverpb_TxnRequest()
            request.compare = compares
            request.success = success
            request.failure = failure
            let raw = await app.call { try await client.kv.txn(raw: request, timeout: nil).raw }
            app.display.txn(raw)
        }
        return command
    }
}

/// Reading a transaction the way etcdctl's `txn` reads it from stdin.
enum TxnParser {
    static func readCompares(_ stdin: Stdin) -> [Etcdserverpb_Compare] {
        var compares: [Etcdserverpb_Compare] = []
        while true {
            let (bytes, eof) = stdin.readLine()
            if eof { exitWithError(.invalidInput, "EOF") }
            let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { return compares }
            do {
                compares.append(try parseCompare(line))
            } catch {
                exitWithError(.invalidInput, error)
            }
        }
    }

    static func readOps(_ stdin: Stdin) -> [Etcdserverpb_RequestOp] {
        var ops: [Etcdserverpb_RequestOp] = []
        while true {
            let (bytes, eof) = stdin.readLine()
            if eof { exitWithError(.invalidInput, "EOF") }
            let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { return ops }
            // etcdctl's txn reads stdin through a buffer: a `put` without value finds the
            // process's stdin already drained.
            ops.append(parseRequest(line, stdin: Stdin.empty))
        }
    }

    // MARK: - Compares

    /// `target("key") op "value"`, as etcdctl scans it.
    static func parseCompare(_ line: String) throws(GoError) -> Etcdserverpb_Compare {
        guard let paren = line.firstIndex(of: "(") else {
            throw GoError("malformed comparison: \(line)")
        }
        let target = String(line[..<paren])
        var scanner = GoScanner(Array(line[line.index(after: paren)...].utf8))
        var key: [UInt8] = []
        var op: [UInt8] = []
        var value: [UInt8] = []
        var count = 0
        if let k = scanner.quoted() {
            key = k
            count = 1
            if scanner.literal(")") {
                scanner.spaces()
                if let o = scanner.word() {
                    op = o
                    count = 2
                    scanner.spaces()
                    if let v = scanner.quoted() {
                        value = v
                        count = 3
                    }
                }
            }
        }
        if count != 3 {
            func quoted(_ bytes: [UInt8]) -> String { String(decoding: GoFormat.quote(bytes), as: UTF8.self) }
            let got = "\(target)(\(quoted(key))) \(String(decoding: op, as: UTF8.self)) \(quoted(value))"
            throw GoError("malformed comparison: \(line); got \(got)")
        }
        let opText = String(decoding: op, as: UTF8.self)
        var compare = Etcdserverpb_Compare()
        compare.key = Data(key)
        switch target {
        case "ver", "version", "c", "create", "m", "mod":
            guard let number = try? GoFormat.parseInt(String(decoding: value, as: UTF8.self)) else {
                throw GoError("invalid txn compare request: \(line)")
            }
            switch target {
            case "ver", "version": compare.target = .version; compare.version = number
            case "c", "create": compare.target = .create; compare.createRevision = number
            default: compare.target = .mod; compare.modRevision = number
            }
        case "val", "value":
            compare.target = .value
            compare.value = Data(value)
        case "lease":
            // etcdctl 3.4 hands the lease compare a string, which its client rejects.
            goPanic("bad value")
        default:
            throw GoError("malformed comparison: \(line) (unknown target \(target))")
        }
        switch opText {
        case "=": compare.result = .equal
        case "!=": compare.result = .notEqual
        case "<": compare.result = .less
        case ">": compare.result = .greater
        default: goPanic("Unknown result op")
        }
        return compare
    }

    /// A Go panic with a message (etcdctl panics on some malformed input).
    static func goPanic(_ message: String) -> Never {
        Out.errLine("panic: \(message)")
        Out.errLine("")
        Out.errLine("goroutine 1 [running]:")
        exit(2)
    }

    // MARK: - Operations

    /// One `get`/`put`/`del` line, parsed with those commands' flags.
    static func parseRequest(_ line: String, stdin: Stdin) -> Etcdserverpb_RequestOp {
        let args = argify(line)
        if args.count < 2 { exitWithError(.invalidInput, "invalid txn compare request: \(line)") }
        let invalid = "invalid txn request: \(line)"
        let names = ["put", "get", "del"]
        let matches = names.filter { $0 == args[0] } + (names.contains(args[0]) ? [] : names.filter { $0.hasPrefix(args[0]) })
        guard matches.count == 1 else { exitWithError(.invalidInput, invalid) }
        let flags = FlagSet()
        let help = flags.bool("help", "h", false, "help for \(matches[0])")
        switch matches[0] {
        case "put": KVCommands.addPutFlags(flags)
        case "get": KVCommands.addGetFlags(flags)
        default: KVCommands.addDelFlags(flags)
        }
        let positional: [String]
        do {
            positional = try flags.parse(Array(args.dropFirst()))
        } catch {
            CobraDefaultUsage.printFlagError(error.description, command: matches[0], flags: flags)
            exitWithError(.invalidInput, invalid)
        }
        if help.bool { exitWithError(.invalidInput, invalid) }
        var op = Etcdserverpb_RequestOp()
        switch matches[0] {
        case "put":
            let (key, value, options) = KVCommands.putRequest(positional, flags: flags, stdin: stdin)
            op = TxnOp.put(EtcdBytes(key), EtcdBytes(value), options).raw
        case "get":
            let request = try? KVCommands.getRequest(positional, flags: flags)
            op = TxnOp.get(.range(EtcdBytes(request!.key), EtcdBytes(request!.rangeEnd)), request!.options).raw
        default:
            let (key, end, prevKV) = KVCommands.deleteRequest(positional, flags: flags)
            op = TxnOp.delete(.range(EtcdBytes(key), EtcdBytes(end)), prevKV: prevKV).raw
        }
        return op
    }

    /// etcdctl's `argify`: words, `"double quoted"` (Go escapes) and `'single quoted'` — with
    /// etcdctl's slicing of single-quoted words by the number of words.
    static func argify(_ line: String) -> [String] {
        let bytes = Array(line.utf8)
        var words: [[UInt8]] = []
        var index = 0
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0C || b == 0x0D }
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x22 {
                // "(?:[^"\\]|\\.)*"
                var j = index + 1
                var closed = false
                while j < bytes.count {
                    if bytes[j] == 0x5C, j + 1 < bytes.count { j += 2; continue }
                    if bytes[j] == 0x5C { break }
                    if bytes[j] == 0x22 { closed = true; break }
                    j += 1
                }
                if closed {
                    words.append(Array(bytes[index...j]))
                    index = j + 1
                    continue
                }
                index += 1
                continue
            }
            if b == 0x27 {
                if let end = bytes[(index + 1)...].firstIndex(of: 0x27) {
                    words.append(Array(bytes[index...end]))
                    index = end + 1
                    continue
                }
                index += 1
                continue
            }
            if isSpace(b) {
                index += 1
                continue
            }
            var j = index
            while j < bytes.count, !isSpace(bytes[j]) { j += 1 }
            words.append(Array(bytes[index..<j]))
            index = j
        }
        let count = words.count
        return words.map { word in
            if word.first == 0x27 {
                // etcdctl slices by the number of words, not the word's length.
                guard count - 1 >= 1, count - 1 <= word.count else {
                    goPanic("runtime error: slice bounds out of range [1:\(count - 1)]")
                }
                return String(decoding: word[1..<(count - 1)], as: UTF8.self)
            }
            if word.first == 0x22 {
                var scanner = GoScanner(word)
                guard let unquoted = scanner.quoted() else { exitWithError(.invalidInput, "invalid syntax") }
                return String(decoding: unquoted, as: UTF8.self)
            }
            return String(decoding: word, as: UTF8.self)
        }
    }
}

/// Enough of Go's `fmt.Sscanf` for `%q) %s %q`.
struct GoScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }

    mutating func spaces() {
        while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
    }

    mutating func literal(_ text: String) -> Bool {
        let expected = Array(text.utf8)
        guard bytes[index...].starts(with: expected) else { return false }
        index += expected.count
        return true
    }

    /// `%s`: a run of non-space bytes after optional spaces.
    mutating func word() -> [UInt8]? {
        spaces()
        let start = index
        while index < bytes.count, !Self.isSpace(bytes[index]) { index += 1 }
        return index > start ? Array(bytes[start..<index]) : nil
    }

    /// `%q`: a Go double-quoted (with escapes) or back-quoted string.
    mutating func quoted() -> [UInt8]? {
        spaces()
        guard index < bytes.count else { return nil }
        if bytes[index] == 0x60 {
            guard let end = bytes[(index + 1)...].firstIndex(of: 0x60) else { return nil }
            defer { index = end + 1 }
            return Array(bytes[(index + 1)..<end])
        }
        guard bytes[index] == 0x22 else { return nil }
        var out: [UInt8] = []
        var j = index + 1
        while j < bytes.count {
            let b = bytes[j]
            if b == 0x22 {
                index = j + 1
                return out
            }
            if b == 0x0A { return nil }
            if b != 0x5C {
                out.append(b)
                j += 1
                continue
            }
            j += 1
            guard j < bytes.count else { return nil }
            let e = bytes[j]
            j += 1
            switch e {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case 0x5C, 0x22: out.append(e)
            case UInt8(ascii: "x"):
                guard j + 2 <= bytes.count, let v = UInt8(String(decoding: bytes[j..<j + 2], as: UTF8.self), radix: 16)
                else { return nil }
                out.append(v)
                j += 2
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard j + 2 <= bytes.count,
                      let v = UInt16(String(decoding: [e] + bytes[j..<j + 2], as: UTF8.self), radix: 8), v <= 255
                else { return nil }
                out.append(UInt8(v))
                j += 2
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let width = e == UInt8(ascii: "u") ? 4 : 8
                guard j + width <= bytes.count,
                      let v = UInt32(String(decoding: bytes[j..<j + width], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(v)
                else { return nil }
                out += Array(String(Character(scalar)).utf8)
                j += width
            default:
                return nil
            }
        }
        return nil
    }
}

/// cobra's built-in usage page (not etcdctl's), which etcdctl's txn parser lets cobra print
/// to stderr when an operation line has a bad flag.
enum CobraDefaultUsage {
    static func printFlagError(_: String, command: String, flags: FlagSet) {
        let use: String
        switch command {
        case "put": use = "put [options] <key> <value> (<value> can also be given from stdin)"
        case "get": use = "get [options] <key> [range_end]"
        default: use = "del [options] <key> [range_end]"
        }
        // The parser's root command has no name: the path is " get".
        var text = "Usage:\n   \(use) [flags]\n\nFlags:\n"
        let rows = flags.sorted.map { flag -> (String, String) in
            var left = flag.shorthand.map { "  -\($0), --\(flag.name)" } ?? "      --\(flag.name)"
            switch flag.kind {
            case .string: left += " string"
            case .int, .int64: left += " int"
            default: break
            }
            var usage = flag.usage
            if flag.kind == .string && !flag.defaultText.isEmpty {
                usage += " (default \(GoFormat.quote(flag.defaultText)))"
            } else if (flag.kind == .int || flag.kind == .int64) && flag.defaultText != "0" {
                usage += " (default \(flag.defaultText))"
            }
            return (left, usage)
        }
        let width = rows.map(\.0.count).max() ?? 0
        for (left, usage) in rows {
            text += left + String(repeating: " ", count: width - left.count) + "   " + usage + "\n"
        }
        Out.err(text + "\n")
    }
}
