import Foundation

/// One command-line flag, with spf13/pflag's behaviour (the flag library of etcdctl).
final class Flag {
    enum Kind { case bool, string, int, int64, duration, stringSlice }
    enum Value {
        case bool(Bool)
        case string(String)
        case int(Int64)
        case duration(Int64)
        case stringSlice([String])
    }

    let name: String
    let shorthand: Character?
    let usage: String
    let kind: Kind
    /// The default as etcdctl's help shows it.
    let defaultText: String
    let defaultValue: Value
    var value: Value
    /// Set on the command line or from the environment.
    var changed = false

    init(_ name: String, shorthand: Character? = nil, kind: Kind, value: Value, usage: String) {
        self.name = name
        self.shorthand = shorthand
        self.usage = usage
        self.kind = kind
        self.value = value
        self.defaultValue = value
        self.defaultText = Self.text(of: value)
    }

    /// The value given when the flag has no `=value` (bools only).
    var noOptionDefault: String? { kind == .bool ? "true" : nil }

    static func text(of value: Value) -> String {
        switch value {
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return s
        case .int(let i): return String(i)
        case .duration(let ns): return GoFormat.duration(nanoseconds: ns)
        case .stringSlice(let list): return "[" + list.joined(separator: ",") + "]"
        }
    }

    /// pflag's name for messages: `-w, --write-out` or `--limit`.
    var displayName: String {
        if let shorthand { return "-\(shorthand), --\(name)" }
        return "--\(name)"
    }

    /// Sets the flag from text, as pflag's `Value.Set` does.
    func set(_ text: String) throws(GoError) {
        do {
            switch kind {
            case .bool: value = .bool(try GoFormat.parseBool(text))
            case .string: value = .string(text)
            case .int, .int64: value = .int(try GoFormat.parseInt(text, base: 0))
            case .duration: value = .duration(try GoFormat.parseDuration(text))
            case .stringSlice:
                let items = try Self.csvFields(text)
                if changed, case .stringSlice(let existing) = value {
                    value = .stringSlice(existing + items)
                } else {
                    value = .stringSlice(items)
                }
            }
        } catch {
            throw GoError("invalid argument \(GoFormat.quote(text)) for \(GoFormat.quote(displayName)) flag: \(error)")
        }
        changed = true
    }

    /// One CSV record, as pflag's string slices read their values.
    static func csvFields(_ text: String) throws(GoError) -> [String] {
        if text.isEmpty { return [] }
        var fields: [String] = []
        var current = ""
        var chars = Array(text)[...]
        var quoted = false
        var atFieldStart = true
        while let c = chars.first {
            chars = chars.dropFirst()
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        current.append("\"")
                        chars = chars.dropFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(c)
                }
            } else if c == "," {
                fields.append(current)
                current = ""
                atFieldStart = true
                continue
            } else if c == "\"" && atFieldStart {
                quoted = true
            } else if c == "\n" || c == "\r" {
                break
            } else {
                current.append(c)
            }
            atFieldStart = false
        }
        if quoted { throw GoError("parse error on line 1, column \(text.count + 1): extraneous or missing \" in quoted-field") }
        fields.append(current)
        return fields
    }

    var bool: Bool { if case .bool(let b) = value { b } else { false } }
    var string: String { if case .string(let s) = value { s } else { "" } }
    var int: Int64 { if case .int(let i) = value { i } else { 0 } }
    var duration: Int64 { if case .duration(let d) = value { d } else { 0 } }
    var stringSlice: [String] { if case .stringSlice(let l) = value { l } else { [] } }
}

/// A parse error of the command line (printed with the command's usage, exit status 1).
struct FlagError: Error, CustomStringConvertible {
    var description: String
}

/// An ordered set of flags.
final class FlagSet {
    private(set) var flags: [Flag] = []

    @discardableResult
    func add(_ flag: Flag) -> Flag {
        flags.append(flag)
        return flag
    }

    func bool(_ name: String, _ shorthand: Character? = nil, _ value: Bool = false, _ usage: String) -> Flag {
        add(Flag(name, shorthand: shorthand, kind: .bool, value: .bool(value), usage: usage))
    }
    func string(_ name: String, _ shorthand: Character? = nil, _ value: String = "", _ usage: String) -> Flag {
        add(Flag(name, shorthand: shorthand, kind: .string, value: .string(value), usage: usage))
    }
    func int(_ name: String, _ value: Int64 = 0, _ usage: String) -> Flag {
        add(Flag(name, kind: .int, value: .int(value), usage: usage))
    }
    func int64(_ name: String, _ value: Int64 = 0, _ usage: String) -> Flag {
        add(Flag(name, kind: .int64, value: .int(value), usage: usage))
    }
    func duration(_ name: String, _ seconds: Int64, _ usage: String) -> Flag {
        add(Flag(name, kind: .duration, value: .duration(seconds * 1_000_000_000), usage: usage))
    }
    func stringSlice(_ name: String, _ value: [String], _ usage: String) -> Flag {
        add(Flag(name, kind: .stringSlice, value: .stringSlice(value), usage: usage))
    }

    func lookup(_ name: String) -> Flag? { flags.first { $0.name == name } }
    func lookup(shorthand: Character) -> Flag? { flags.first { $0.shorthand == shorthand } }

    /// Sorted by name, as pflag lists them.
    var sorted: [Flag] { flags.sorted { $0.name < $1.name } }

    /// Parses `arguments`: flags anywhere (until `--`), the rest positional.
    func parse(_ arguments: [String]) throws(FlagError) -> [String] {
        var positional: [String] = []
        var args = arguments[...]
        while let arg = args.first {
            args = args.dropFirst()
            if arg == "--" {
                positional += args
                break
            }
            if arg.hasPrefix("--") {
                try parseLong(arg, &args)
            } else if arg.hasPrefix("-") && arg.count > 1 {
                var shorthands = Substring(arg.dropFirst())
                while !shorthands.isEmpty {
                    shorthands = try parseShort(shorthands, &args)
                }
            } else {
                positional.append(arg)
            }
        }
        return positional
    }

    private func fail(_ message: String) -> FlagError { FlagError(description: message) }

    private func parseLong(_ arg: String, _ args: inout ArraySlice<String>) throws(FlagError) {
        let body = arg.dropFirst(2)
        if body.isEmpty || body.hasPrefix("-") || body.hasPrefix("=") {
            throw fail("bad flag syntax: \(arg)")
        }
        let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard let flag = lookup(name) else { throw fail("unknown flag: --\(name)") }
        let value: String
        if parts.count == 2 {
            value = String(parts[1])
        } else if let implicit = flag.noOptionDefault {
            value = implicit
        } else if let next = args.first {
            value = next
            args = args.dropFirst()
        } else {
            throw fail("flag needs an argument: \(arg)")
        }
        do { try flag.set(value) } catch { throw fail(error.description) }
    }

    /// Parses the first of `shorthands` (e.g. `wjson` of `-wjson`); returns what is left.
    private func parseShort(_ shorthands: Substring, _ args: inout ArraySlice<String>) throws(FlagError) -> Substring {
        let c = shorthands.first!
        guard let flag = lookup(shorthand: c) else {
            throw fail("unknown shorthand flag: '\(c)' in -\(shorthands)")
        }
        let rest = shorthands.dropFirst()
        let value: String
        var remaining = rest
        if rest.count > 1 && rest.first == "=" {
            value = String(rest.dropFirst())
            remaining = ""
        } else if let implicit = flag.noOptionDefault {
            value = implicit
        } else if !rest.isEmpty {
            value = String(rest)
            remaining = ""
        } else if let next = args.first {
            value = next
            args = args.dropFirst()
        } else {
            throw fail("flag needs an argument: '\(c)' in -\(shorthands)")
        }
        do { try flag.set(value) } catch { throw fail(error.description) }
        return remaining
    }

    /// pkg/flags' SetPflagsFromEnv: every flag not set on the command line takes
    /// `PREFIX_NAME` from the environment. Returns warnings (unknown variables) and the
    /// fatal conflict message, if any.
    func applyEnvironment(prefix: String, _ environment: [String: String], extraNames: [String] = [])
        -> (warnings: [String], fatal: String?)
    {
        var used = Set<String>()
        var shadowed = Set<String>()
        for flag in flags {
            let key = Self.envName(prefix, flag.name)
            if flag.changed {
                shadowed.insert(key)
                continue
            }
            if let value = environment[key], !value.isEmpty {
                used.insert(key)
                try? flag.set(value)
            }
        }
        for name in extraNames {
            let key = Self.envName(prefix, name)
            if let value = environment[key], !value.isEmpty { used.insert(key) }
        }
        var warnings: [String] = []
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) where !used.contains(key) {
            if shadowed.contains(key) {
                return (warnings, "conflicting environment variable \(GoFormat.quote(key)) is shadowed by corresponding command-line flag (either unset environment variable or disable flag)")
            }
            if key.hasPrefix(prefix + "_") { warnings.append("unrecognized environment variable \(key)=\(value)") }
        }
        return (warnings, nil)
    }

    static func envName(_ prefix: String, _ name: String) -> String {
        prefix + "_" + name.replacingOccurrences(of: "-", with: "_").uppercased()
    }

    /// The flag lines of etcdctl's help (before tab alignment).
    var usageText: String {
        var out = ""
        for flag in sorted {
            var line = flag.shorthand.map { "  -\($0), --\(flag.name)" } ?? "      --\(flag.name)"
            let value = flag.kind == .string ? GoFormat.quote(flag.defaultText) : flag.defaultText
            line += flag.noOptionDefault != nil ? "[=\(value)]" : "=\(value)"
            out += line + "\t" + flag.usage + "\n"
        }
        return out
    }
}
