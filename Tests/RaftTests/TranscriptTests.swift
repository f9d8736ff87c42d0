import Foundation
import Testing

/// Raft scenarios written as transcripts (`Transcripts/*.txt`): each command is followed by
/// `----` and the trace it must produce, then a blank line. `TranscriptCluster` runs the
/// commands on RawNodes; a difference fails the test with a diff. `REWRITE_TRANSCRIPTS=1`
/// writes the produced traces into the files instead (review them before committing).
@Suite struct TranscriptTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Transcripts")

    static var files: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted()
    }

    @Test func theScenariosAreThere() {
        #expect(Self.files.count >= 4, "transcripts in \(Self.directory.path): \(Self.files)")
    }

    @Test(arguments: files) func transcript(_ name: String) throws {
        let url = Self.directory.appendingPathComponent(name)
        let text = try String(contentsOf: url, encoding: .utf8)
        let blocks = try TranscriptBlock.parse(text)
        let cluster = TranscriptCluster()
        var produced = blocks
        for index in produced.indices {
            produced[index].output = cluster.run(produced[index].command)
        }
        let rendered = TranscriptBlock.render(produced)
        if ProcessInfo.processInfo.environment["REWRITE_TRANSCRIPTS"] == "1" {
            try rendered.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        for (expected, actual) in zip(blocks, produced) where expected.output != actual.output {
            Issue.record(Comment(rawValue: """
                \(name):\(expected.line): \(expected.command) (- expected, + produced)
                \(lineDiff(expected: expected.output, actual: actual.output))
                """))
        }
    }
}

/// One command of a transcript and its output; `line` is where the command starts.
struct TranscriptBlock {
    /// Comment and blank lines before the command, kept when the file is rewritten.
    var preamble: [String]
    var command: String
    var output: String
    var line: Int

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ text: String) throws -> [TranscriptBlock] {
        let lines = text.components(separatedBy: "\n")
        var blocks: [TranscriptBlock] = []
        var preamble: [String] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            if line.isEmpty || line.hasPrefix("#") {
                preamble.append(line)
                index += 1
                continue
            }
            let start = index + 1
            index += 1
            guard index < lines.count, lines[index] == "----" else {
                throw ParseError(description: "line \(start): \"\(line)\" is not followed by ----")
            }
            index += 1
            var output: [String] = []
            while index < lines.count, !lines[index].isEmpty {
                output.append(lines[index])
                index += 1
            }
            blocks.append(TranscriptBlock(preamble: preamble, command: line, output: output.joined(separator: "\n"), line: start))
            preamble = []
        }
        return blocks
    }

    static func render(_ blocks: [TranscriptBlock]) -> String {
        var lines: [String] = []
        for block in blocks {
            // A blank line ends the previous output; the preamble supplies it when it has one.
            if !lines.isEmpty && block.preamble.first != "" { lines.append("") }
            lines += block.preamble
            lines += [block.command, "----", block.output]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The lines of `expected` and `actual` with `-`/`+` where they differ (a longest common
/// subsequence of lines, so one changed line does not mark all that follow).
func lineDiff(expected: String, actual: String) -> String {
    let a = expected.components(separatedBy: "\n")
    let b = actual.components(separatedBy: "\n")
    var common = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in stride(from: a.count - 1, through: 0, by: -1) {
        for j in stride(from: b.count - 1, through: 0, by: -1) {
            common[i][j] = a[i] == b[j] ? common[i + 1][j + 1] + 1 : max(common[i + 1][j], common[i][j + 1])
        }
    }
    var out: [String] = []
    var (i, j) = (0, 0)
    while i < a.count || j < b.count {
        if i < a.count, j < b.count, a[i] == b[j] {
            out.append("  " + a[i])
            i += 1
            j += 1
        } else if j < b.count, i == a.count || common[i][j + 1] >= common[i + 1][j] {
            out.append("+ " + b[j])
            j += 1
        } else {
            out.append("- " + a[i])
            i += 1
        }
    }
    return out.joined(separator: "\n")
}
