import Foundation

/// A command of the tree, modelled on spf13/cobra (which etcdctl is built with) as far as
/// etcdctl's behaviour shows: prefix matching of command names, flags anywhere, persistent
/// flags inherited by subcommands, a `-h/--help` flag on every command, etcdctl's help page.
final class Command {
    typealias Run = (Invocation) async throws -> Void

    let name: String
    /// The usage after the name (`[options] <key> [range_end]`).
    let usage: String
    let short: String
    let long: String
    /// Flags of this command only.
    let flags = FlagSet()
    /// Flags of this command inherited by its subcommands.
    let persistentFlags = FlagSet()
    private(set) var subcommands: [Command] = []
    private(set) weak var parent: Command?
    var run: Run?
    /// Hidden from help listings (cobra's generated commands are not, so nothing uses this yet).
    let helpFlag: Flag

    init(_ use: String, short: String, long: String = "", run: Run? = nil) {
        let parts = use.split(separator: " ", maxSplits: 1)
        name = String(parts[0])
        usage = parts.count > 1 ? String(parts[1]) : ""
        self.short = short
        self.long = long
        self.run = run
        helpFlag = Flag("help", shorthand: "h", kind: .bool, value: .bool(false), usage: "help for \(name)")
    }

    @discardableResult
    func add(_ commands: Command...) -> Command {
        for command in commands {
            command.parent = self
            subcommands.append(command)
        }
        return self
    }

    var root: Command { parent?.root ?? self }
    var isRoot: Bool { parent == nil }
    var isRunnable: Bool { run != nil }

    /// `etcdctl lease grant`.
    var path: String { (parent.map { $0.path + " " } ?? "") + name }

    /// The path below `ancestor` (`lease grant` below the root).
    func path(below ancestor: Command) -> String {
        var parts = [name]
        var current = self
        while let up = current.parent, up !== ancestor {
            parts.insert(up.name, at: 0)
            current = up
        }
        return parts.joined(separator: " ")
    }

    /// Persistent flags of the ancestors, nearest last.
    var inheritedFlags: [Flag] {
        var result: [Flag] = []
        var current = parent
        while let command = current {
            result = command.persistentFlags.flags + result
            current = command.parent
        }
        return result
    }

    /// Every flag the command accepts.
    var allFlags: FlagSet {
        let set = FlagSet()
        for flag in flags.flags + persistentFlags.flags + [helpFlag] + inheritedFlags { set.add(flag) }
        return set
    }

    var sortedSubcommands: [Command] { subcommands.sorted { $0.name < $1.name } }

    // MARK: - Finding the command

    /// The next command named (or uniquely prefixed) by `word`.
    func findChild(_ word: String) -> Command? {
        if let exact = subcommands.first(where: { $0.name == word }) { return exact }
        let matches = subcommands.filter { $0.name.hasPrefix(word) }
        return matches.count == 1 ? matches[0] : nil
    }

    /// Walks down the tree along the non-flag words of `args`; returns the command and the
    /// arguments left for it.
    func find(_ args: [String]) -> (Command, [String]) {
        var command = self
        var remaining = args
        while true {
            let words = command.nonFlagWords(remaining)
            guard let first = words.first, let next = command.findChild(remaining[first]) else {
                return (command, remaining)
            }
            remaining.remove(at: first)
            command = next
        }
    }

    /// Indices of the arguments that are not flags or flag values (cobra's `stripFlags`).
    private func nonFlagWords(_ args: [String]) -> [Int] {
        let known = allFlags
        var result: [Int] = []
        var index = 0
        while index < args.count {
            let arg = args[index]
            index += 1
            if arg == "--" { break }
            if arg.hasPrefix("--"), !arg.contains("="),
               known.lookup(String(arg.dropFirst(2)))?.noOptionDefault == nil
            {
                if args.count - index <= 1 { break }
                index += 1
                continue
            }
            if arg.hasPrefix("-"), !arg.contains("="), arg.count == 2,
               known.lookup(shorthand: arg.last!)?.noOptionDefault == nil
            {
                if args.count - index <= 1 { break }
                index += 1
                continue
            }
            if !arg.isEmpty && !arg.hasPrefix("-") { result.append(index - 1) }
        }
        return result
    }

    /// Command names close to a mistyped one (cobra's suggestions).
    func suggestions(for typed: String) -> [String] {
        subcommands.filter { command in
            Self.levenshtein(typed.lowercased(), command.name.lowercased()) <= 2
                || command.name.lowercased().hasPrefix(typed.lowercased())
        }.map(\.name)
    }

    private static func levenshtein(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    // MARK: - Help

    /// etcdctl's help page for this command.
    var helpText: String { help(withHelpFlag: true) }

    /// The help page; cobra leaves out `-h, --help` when the command's flags were never set up
    /// (the root's page after an unknown `help` topic).
    func help(withHelpFlag: Bool) -> String {
        var text = "NAME:\n"
        text += isRoot ? "\t\(name) - \(short)\n" : "\t\(path(below: root)) - \(short)\n"
        text += "\nUSAGE:\n\t\(useLine)\n"
        if isRoot { text += "\nVERSION:\n\t\(Version.etcdctl)\n" }
        if !subcommands.isEmpty {
            text += "\nAPI VERSION:\n\t\(Version.api)\n"
            text += "\n\nCOMMANDS:\n"
            for command in descendants where command.isRunnable {
                text += "\t\(command.path(below: self))\t\(command.short)\n"
            }
        }
        if !long.isEmpty {
            text += "\nDESCRIPTION:\n"
            for line in long.trimmingCharacters(in: CharacterSet(charactersIn: "\n\t ")).components(separatedBy: "\n") {
                text += "\t\(line)\n"
            }
        }
        let local = FlagSet()
        for flag in flags.flags + persistentFlags.flags + (withHelpFlag ? [helpFlag] : []) { local.add(flag) }
        text += "\nOPTIONS:\n" + local.usageText
        if !isRoot {
            let inherited = FlagSet()
            for flag in inheritedFlags { inherited.add(flag) }
            text += "\nGLOBAL OPTIONS:\n" + inherited.usageText
        }
        text += "\n"
        return TabWriter().format(text)
    }

    var useLine: String {
        let base = (parent.map { $0.path + " " } ?? "") + name + (usage.isEmpty ? "" : " " + usage)
        return base.contains("[flags]") ? base : base + " [flags]"
    }

    /// Every command below, depth first, each level sorted by name.
    var descendants: [Command] {
        sortedSubcommands.flatMap { [$0] + $0.descendants }
    }
}

/// What a running command gets: itself, its positional arguments, the process environment.
struct Invocation {
    let command: Command
    let args: [String]
    /// The full command line (without the program name), for commands that look at it as
    /// etcdctl does (`watch ... -- exec`).
    let rawArgs: [String]

    func flag(_ name: String) -> Flag {
        guard let flag = command.allFlags.lookup(name) else { fatalError("no flag --\(name) on \(command.path)") }
        return flag
    }
}
