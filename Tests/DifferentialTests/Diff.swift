import Foundation
import HarnessSupport

enum LineDiff {
    /// A unified-style line diff of `old` (etcd, `-`) against `new` (swetcd, `+`), with `context`
    /// unchanged lines around each change, at most `limit` lines (long lines are cut).
    static func unified(_ old: String, _ new: String, context: Int = 2, limit: Int = 60) -> String {
        let a = old.components(separatedBy: "\n")
        let b = new.components(separatedBy: "\n")
        // Longest common subsequence table; outputs are small (cap it to stay bounded).
        guard a.count * b.count <= 4_000_000 else {
            return "  (outputs too large to diff: \(a.count) vs \(b.count) lines)"
        }
        var lcs = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var edits: [(Character, String)] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                edits.append((" ", a[i])); i += 1; j += 1
            } else if i < a.count, j == b.count || lcs[i + 1][j] >= lcs[i][j + 1] {
                edits.append(("-", a[i])); i += 1
            } else {
                edits.append(("+", b[j])); j += 1
            }
        }
        let changed = edits.indices.filter { edits[$0].0 != " " }
        var keep = Set<Int>()
        for index in changed {
            for k in max(0, index - context)...min(edits.count - 1, index + context) { keep.insert(k) }
        }
        var lines: [String] = []
        var previous = -1
        for index in keep.sorted() {
            if previous >= 0 && index > previous + 1 { lines.append("  ...") }
            var text = edits[index].1
            if text.count > 300 { text = String(text.prefix(300)) + "… (\(text.count) chars)" }
            lines.append("  \(edits[index].0) \(text)")
            previous = index
        }
        if lines.count > limit {
            lines = Array(lines.prefix(limit)) + ["  ... (\(lines.count - limit) more diff lines)"]
        }
        return lines.joined(separator: "\n")
    }
}
