/// A command-line parser with the conventions of Go's `flag` package, which etcd uses:
/// `-name value`, `--name value`, `-name=value` and `--name=value` are all the same flag;
/// a boolean flag alone means true; `--` ends the flags. Each flag may also come from an
/// environment variable (`ETCD_` + upper-cased name with `-` as `_`); setting both is an
/// error, as in etcd.
public struct FlagParser: Sendable {
    /// One accepted flag.
    public struct Flag: Sendable {
        /// The name, without dashes.
        public let name: String
        /// The help text.
        public let usage: String
        /// Whether the flag alone means true (it takes no separate value).
        public let isBoolean: Bool
        /// The value when the flag is not given.
        public let defaultValue: String

        /// A flag called `name`.
        public init(_ name: String, default defaultValue: String = "", isBoolean: Bool = false, usage: String) {
            self.name = name
            self.usage = usage
            self.isBoolean = isBoolean
            self.defaultValue = defaultValue
        }
    }

    /// Why the command line was refused; `description` is what to print.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case undefined(String)
        case missingValue(String)
        case invalidBoolean(flag: String, value: String)
        case shadowedEnvironment(variable: String)
        case unexpectedArgument(String)
        case invalidValue(flag: String, value: String, reason: String)

        /// The message Go's `flag` package prints for this error.
        public var description: String {
            switch self {
            case .undefined(let name): return "flag provided but not defined: -\(name)"
            case .missingValue(let name): return "flag needs an argument: -\(name)"
            case .invalidBoolean(let flag, let value): return "invalid boolean value \"\(value)\" for -\(flag): parse error"
            case .shadowedEnvironment(let variable):
                return "conflicting environment variable \"\(variable)\" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)"
            case .unexpectedArgument(let argument):
                return "'\(argument)' is not a valid flag"
            case .invalidValue(let flag, let value, let reason):
                return "invalid value \"\(value)\" for flag -\(flag): \(reason)"
            }
        }
    }

    /// The parsed flags: explicitly set values (from the command line or the environment)
    /// and the declared defaults.
    public struct Values: Sendable {
        fileprivate var set: [String: String]
        fileprivate let defaults: [String: String]
        /// Environment variables starting with `ETCD_` that match no flag (etcd warns about them).
        public let unrecognizedEnvironment: [String]

        /// The value of flag `name`: as set, else its default, else empty.
        public func string(_ name: String) -> String { set[name] ?? defaults[name] ?? "" }
        /// Whether flag `name` was given (on the command line or in the environment).
        public func isSet(_ name: String) -> Bool { set[name] != nil }
        /// The value of a boolean flag, with Go's `strconv.ParseBool` spellings of true.
        public func bool(_ name: String) -> Bool { FlagParser.isTrue(string(name)) }

        /// Parses an unsigned integer flag.
        public func unsigned(_ name: String) throws -> UInt64 {
            let text = string(name)
            guard let value = UInt64(text) else {
                throw ParseError.invalidValue(flag: name, value: text, reason: "parse error")
            }
            return value
        }

        /// Parses a comma-separated list flag.
        public func list(_ name: String) -> [String] {
            string(name).split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        }
    }

    /// The accepted flags, in the order help lists them.
    public let flags: [Flag]
    private let byName: [String: Flag]

    /// A parser accepting `flags`.
    public init(flags: [Flag]) {
        self.flags = flags
        byName = Dictionary(uniqueKeysWithValues: flags.map { ($0.name, $0) })
    }

    /// The environment variable a flag can also be set from.
    public static func environmentName(of flag: String) -> String {
        "ETCD_" + flag.uppercased().replacingDashes()
    }

    /// Parses `arguments` (without the program name), taking unset flags from `environment`.
    public func parse(_ arguments: [String], environment: [String: String] = [:]) throws -> Values {
        var set: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" { break }
            guard argument.hasPrefix("-"), argument.count > 1 else {
                throw ParseError.unexpectedArgument(argument)
            }
            var body = argument.dropFirst()
            if body.hasPrefix("-") { body = body.dropFirst() }
            let name: String
            var value: String?
            if let equals = body.firstIndex(of: "=") {
                name = String(body[..<equals])
                value = String(body[body.index(after: equals)...])
            } else {
                name = String(body)
            }
            guard let flag = byName[name] else { throw ParseError.undefined(name) }
            if flag.isBoolean {
                let text = value ?? "true"
                guard Self.booleanWords.contains(text) else {
                    throw ParseError.invalidBoolean(flag: name, value: text)
                }
                set[name] = Self.trueWords.contains(text) ? "true" : "false"
            } else {
                if value == nil {
                    guard index < arguments.count else { throw ParseError.missingValue(name) }
                    value = arguments[index]
                    index += 1
                }
                set[name] = value
            }
        }

        var unrecognized: [String] = []
        let known = Set(flags.map { Self.environmentName(of: $0.name) })
        for (variable, value) in environment.sorted(by: { $0.key < $1.key }) where variable.hasPrefix("ETCD_") {
            guard known.contains(variable) else {
                unrecognized.append("\(variable)=\(value)")
                continue
            }
            let name = flags.first { Self.environmentName(of: $0.name) == variable }!.name
            if set[name] != nil { throw ParseError.shadowedEnvironment(variable: variable) }
            set[name] = value
        }
        let defaults = Dictionary(uniqueKeysWithValues: flags.map { ($0.name, $0.defaultValue) })
        return Values(set: set, defaults: defaults, unrecognizedEnvironment: unrecognized)
    }

    /// A usage text listing every flag, its default and what it does.
    public func usage(command: String) -> String {
        var lines = ["Usage:", "", "  \(command) [flags]", "", "Flags:"]
        for flag in flags {
            let shown = flag.defaultValue.isEmpty ? "" : " (default \(flag.defaultValue))"
            lines.append("  --\(flag.name)\(shown)")
            lines.append("      \(flag.usage)")
        }
        return lines.joined(separator: "\n")
    }

    private static let trueWords: Set<String> = ["1", "t", "T", "true", "TRUE", "True"]
    /// Whether `text` is one of Go's `strconv.ParseBool` spellings of true.
    static func isTrue(_ text: String) -> Bool { trueWords.contains(text) }
    private static let booleanWords: Set<String> = trueWords.union(["0", "f", "F", "false", "FALSE", "False"])
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }

    fileprivate func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}
