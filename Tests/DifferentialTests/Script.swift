import Foundation
import HarnessSupport

/// One step of a differential script: an `etcdctl` command line (without the endpoint flags the
/// harness adds) and, optionally, bytes to feed on its standard input.
struct Step: Sendable {
    var script: String
    var line: Int
    /// The command line as written in the script, for reports.
    var source: String
    var arguments: [String]
    var stdin: Data?
    /// For `&name args...` lines: a harness directive (see `Background.swift`), not a plain
    /// etcdctl call; `arguments` then holds the directive's arguments.
    var directive: String? = nil

    var location: String { "\(script):\(line)" }
}

struct ScriptError: Error, CustomStringConvertible {
    var description: String
}

/// Parser of the transcript-like step scripts in `Scripts/*.txt`.
///
/// Format (see `Scripts/README.md`):
/// - `#` starts a comment line; blank lines are ignored.
/// - Every other line is one step: the arguments of one `etcdctl` invocation, split like a POSIX
///   shell would (`'single'`, `"double"` with `\"` `\\` `\$` escapes, `$'ansi-c'` with `\n \t \r
///   \e \\ \' \" \xHH \uHHHH`, backslash outside quotes); no expansion, no pipes.
/// - A step may end with `<<WORD`: the following lines, up to a line that is exactly `WORD`, are
///   its stdin, each line followed by `\n` (like a shell heredoc). Inside a heredoc, lines that
///   start with `@` are generators:
///     `@repeat N TEMPLATE` — N lines, `{i}` in TEMPLATE replaced by 1...N;
///     `@fill N TEXT`       — TEXT repeated N times, then `\n` (one long line);
///     `@hex HEX`           — the raw bytes HEX, *no* newline (for binary values);
///     `@@...`              — a literal line starting with `@`.
enum ScriptParser {
    static func parse(_ text: String, name: String) throws -> [Step] {
        var steps: [Step] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < lines.count {
            let lineNumber = index + 1
            let raw = lines[index]
            index += 1
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            var (words, heredoc) = try split(trimmed, at: "\(name):\(lineNumber)")
            var stdin: Data?
            if let marker = heredoc {
                var body = Data()
                var closed = false
                while index < lines.count {
                    let bodyLine = lines[index]
                    index += 1
                    if bodyLine == marker { closed = true; break }
                    body.append(try expand(bodyLine, at: "\(name):\(index)"))
                }
                if !closed {
                    throw ScriptError(description: "\(name):\(lineNumber): heredoc <<\(marker) is not closed")
                }
                stdin = body
            }
            if words.isEmpty {
                throw ScriptError(description: "\(name):\(lineNumber): a step needs at least one argument")
            }
            let directive = words.first.flatMap { $0.hasPrefix("&") ? String($0.dropFirst()) : nil }
            if directive != nil { words.removeFirst() }
            if words.first == "etcdctl" { words.removeFirst() }
            steps.append(Step(script: name, line: lineNumber, source: trimmed, arguments: words, stdin: stdin,
                              directive: directive))
        }
        return steps
    }

    /// Expands one heredoc line into the bytes it stands for.
    static func expand(_ line: String, at location: String) throws -> Data {
        guard line.hasPrefix("@") else { return Data((line + "\n").utf8) }
        if line.hasPrefix("@@") { return Data((String(line.dropFirst()) + "\n").utf8) }
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        func count() throws -> Int {
            guard parts.count == 3, let n = Int(parts[1]), n >= 0, n <= 16_000_000 else {
                throw ScriptError(description: "\(location): expected `\(parts[0]) COUNT TEXT`")
            }
            return n
        }
        switch parts[0] {
        case "@repeat":
            let n = try count()
            var out = ""
            for i in 0..<n {
                out += parts[2].replacingOccurrences(of: "{i}", with: String(i + 1)) + "\n"
            }
            return Data(out.utf8)
        case "@fill":
            let n = try count()
            return Data((String(repeating: parts[2], count: n) + "\n").utf8)
        case "@hex":
            let hex = parts.dropFirst().joined().filter { !$0.isWhitespace }
            guard hex.count % 2 == 0 else {
                throw ScriptError(description: "\(location): @hex needs an even number of hex digits")
            }
            var bytes = Data()
            var i = hex.startIndex
            while i < hex.endIndex {
                let j = hex.index(i, offsetBy: 2)
                guard let byte = UInt8(hex[i..<j], radix: 16) else {
                    throw ScriptError(description: "\(location): bad hex digits \(hex[i..<j])")
                }
                bytes.append(byte)
                i = j
            }
            return bytes
        default:
            throw ScriptError(description: "\(location): unknown heredoc directive \(parts[0]) (use @@ for a literal @)")
        }
    }

    /// Splits a command line into words like a POSIX shell (without expansions). Returns the
    /// heredoc marker if the line ends with an unquoted `<<WORD`.
    static func split(_ line: String, at location: String) throws -> (words: [String], heredoc: String?) {
        var words: [String] = []
        var current = ""
        var inWord = false
        var heredoc: String?
        var chars = Array(line)[...]

        func fail(_ message: String) -> ScriptError {
            ScriptError(description: "\(location): \(message): \(line)")
        }

        while let c = chars.first {
            chars = chars.dropFirst()
            switch c {
            case " ", "\t":
                if inWord { words.append(current); current = ""; inWord = false }
            case "<" where !inWord && chars.first == "<":
                let marker = String(chars.dropFirst()).trimmingCharacters(in: .whitespaces)
                guard !marker.isEmpty, !marker.contains(" ") else { throw fail("`<<` needs one marker word") }
                heredoc = marker
                chars = chars[chars.endIndex...]
            case "\\":
                guard let next = chars.first else { throw fail("trailing backslash") }
                chars = chars.dropFirst()
                current.append(next)
                inWord = true
            case "'":
                inWord = true
                guard let end = chars.firstIndex(of: "'") else { throw fail("unterminated '") }
                current += String(chars[..<end])
                chars = chars[(end + 1)...]
            case "\"":
                inWord = true
                var closed = false
                while let d = chars.first {
                    chars = chars.dropFirst()
                    if d == "\"" { closed = true; break }
                    if d == "\\", let e = chars.first, e == "\"" || e == "\\" || e == "$" {
                        current.append(e)
                        chars = chars.dropFirst()
                    } else {
                        current.append(d)
                    }
                }
                if !closed { throw fail("unterminated \"") }
            case "$" where chars.first == "'":
                inWord = true
                chars = chars.dropFirst()
                var closed = false
                while let d = chars.first {
                    chars = chars.dropFirst()
                    if d == "'" { closed = true; break }
                    guard d == "\\" else { current.append(d); continue }
                    guard let e = chars.first else { throw fail("unterminated $'") }
                    chars = chars.dropFirst()
                    switch e {
                    case "n": current.append("\n")
                    case "t": current.append("\t")
                    case "r": current.append("\r")
                    case "e": current.append("\u{1B}")
                    case "\\", "'", "\"": current.append(e)
                    case "x", "u":
                        let width = e == "x" ? 2 : 4
                        let digits = String(chars.prefix(width))
                        guard digits.count == width, let value = UInt32(digits, radix: 16),
                              let scalar = Unicode.Scalar(value)
                        else { throw fail("bad \\\(e) escape") }
                        // Arguments travel through execve as C strings: no NUL, and a Swift String
                        // cannot carry non-UTF-8 bytes. Raw bytes go through stdin (`@hex`).
                        if value == 0 || (e == "x" && value >= 0x80) {
                            throw fail("\\x00 and \\x80-\\xff cannot be passed as arguments; use stdin with @hex")
                        }
                        current.unicodeScalars.append(scalar)
                        chars = chars.dropFirst(width)
                    default: throw fail("unknown escape \\\(e)")
                    }
                }
                if !closed { throw fail("unterminated $'") }
            default:
                current.append(c)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return (words, heredoc)
    }
}
