import Foundation
import Testing

/// docs/ARCHITECTURE.md's module map must agree with Package.swift: one row per non-test target,
/// each row's dependencies exactly the target's dependencies on other targets of this package.
@Suite struct ModuleMapTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func moduleMapMatchesPackageSwift() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        let targets = ManifestTargets.parse(manifest)
        try #require(targets.count >= 10, "found only \(targets.count) targets in Package.swift; the parser is broken")
        try #require(targets.contains { $0.name == "RepositoryTests" && $0.isTest }, "Package.swift parse missed RepositoryTests")
        for problem in ModuleMap.problems(targets: targets, rows: ModuleMap.rows(in: doc)) {
            Issue.record(Comment(rawValue: problem))
        }
    }

    @Test func parserSkipsProductsCommentsAndPaths() {
        let manifest = """
            let x = [.product(name: "NotMe", package: "p")]  // .target(name: "Commented")
            targets: [
                .target(name: "A", dependencies: ["B", .product(name: "Ext", package: "e"), .target(name: "C")], path: "x/\\"y"),
                .systemLibrary(name: "B", pkgConfig: "b"),
                .executableTarget(
                    name: "C", // "Nope"
                    dependencies: [.byName(name: "B")]
                ),
                .testTarget(name: "ATests", dependencies: ["A"]),
            ]
            """
        let targets = ManifestTargets.parse(manifest)
        #expect(targets.map(\.name) == ["A", "B", "C", "ATests"])
        #expect(targets.map(\.dependencies) == [["B", "C"], [], ["B"], ["A"]])
        #expect(targets.map(\.isTest) == [false, false, false, true])
        let doc = """
            | Target | Job | Depends on |
            |---|---|---|
            | `A` | does a \\| thing | `B`, `C` |
            | `B` | a library | — |
            | `Z` | gone | |
            """
        let problems = ModuleMap.problems(targets: targets, rows: ModuleMap.rows(in: doc))
        #expect(problems.count == 2)
        #expect(problems.contains { $0.contains("`C`") && $0.contains("no row") })
        #expect(problems.contains { $0.contains("`Z`") && $0.contains("not a target") })
    }
}

struct ManifestTarget: Equatable {
    var name: String
    var isTest: Bool
    var dependencies: Set<String>
}

/// A small reader of Package.swift's text: enough for the target declarations this package writes.
enum ManifestTargets {
    static let kinds = [".target(": false, ".executableTarget(": false, ".systemLibrary(": false, ".testTarget(": true]

    static func parse(_ manifest: String) -> [ManifestTarget] {
        let text = Array(stripComments(manifest))
        var result: [ManifestTarget] = []
        var i = 0
        while i < text.count {
            if text[i] == "\"" { i = skipString(text, i); continue }
            guard let (kind, isTest) = kinds.first(where: { matches(text, i, $0.key) }) else { i += 1; continue }
            let open = i + kind.count - 1
            let close = closing(text, open)
            let arguments = topLevelArguments(text, open + 1, close)
            if let name = arguments["name"].flatMap(firstString) {
                let dependencies = arguments["dependencies"].map(internalDependencies) ?? []
                result.append(ManifestTarget(name: name, isTest: isTest, dependencies: dependencies))
                i = close + 1  // a target nested in another's dependencies is a reference, not a declaration
            } else {
                i += kind.count
            }
        }
        return result
    }

    /// Quoted names in a `dependencies: [...]` list, and `.target(name:)`/`.byName(name:)`, not `.product(...)`.
    static func internalDependencies(_ list: [Character]) -> Set<String> {
        guard let start = list.firstIndex(of: "[") else { return [] }
        var names: Set<String> = []
        for element in split(list, start + 1, closing(list, start)) {
            let trimmed = String(element).trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.hasPrefix("\""), let name = firstString(element) {
                names.insert(name)
            } else if trimmed.hasPrefix(".target(") || trimmed.hasPrefix(".byName(") {
                let open = element.firstIndex(of: "(")!
                if let name = topLevelArguments(element, open + 1, closing(element, open))["name"].flatMap(firstString) {
                    names.insert(name)
                }
            }
        }
        return names
    }

    /// `label: value` pairs of the call whose arguments lie in text[from..<to].
    static func topLevelArguments(_ text: [Character], _ from: Int, _ to: Int) -> [String: [Character]] {
        var arguments: [String: [Character]] = [:]
        for argument in split(text, from, to) {
            guard let colon = argument.firstIndex(of: ":") else { continue }
            let label = String(argument[..<colon]).trimmingCharacters(in: .whitespacesAndNewlines)
            if label.allSatisfy({ $0.isLetter || $0.isNumber }), !label.isEmpty, arguments[label] == nil {
                arguments[label] = Array(argument[(colon + 1)...])
            }
        }
        return arguments
    }

    /// text[from..<to] split at commas outside brackets and strings.
    static func split(_ text: [Character], _ from: Int, _ to: Int) -> [[Character]] {
        var parts: [[Character]] = []
        var depth = 0
        var start = from
        var i = from
        while i < to {
            switch text[i] {
            case "\"": i = skipString(text, i); continue
            case "(", "[": depth += 1
            case ")", "]": depth -= 1
            case "," where depth == 0: parts.append(Array(text[start..<i])); start = i + 1
            default: break
            }
            i += 1
        }
        if start < to { parts.append(Array(text[start..<to])) }
        return parts.filter { !String($0).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    /// The index of the bracket closing the one at `open`, or the end of the text.
    static func closing(_ text: [Character], _ open: Int) -> Int {
        var depth = 0
        var i = open
        while i < text.count {
            switch text[i] {
            case "\"": i = skipString(text, i); continue
            case "(", "[": depth += 1
            case ")", "]":
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        return text.count
    }

    /// The index just past the string literal opening at `i`.
    static func skipString(_ text: [Character], _ i: Int) -> Int {
        var j = i + 1
        while j < text.count, text[j] != "\"" { j += text[j] == "\\" ? 2 : 1 }
        return j + 1
    }

    static func firstString(_ text: [Character]) -> String? {
        guard let open = text.firstIndex(of: "\"") else { return nil }
        return String(text[(open + 1)..<(skipString(text, open) - 1)])
    }

    static func matches(_ text: [Character], _ i: Int, _ word: String) -> Bool {
        let word = Array(word)
        return i + word.count <= text.count && Array(text[i..<(i + word.count)]) == word
    }

    /// The manifest without `//` and `/* */` comments, strings left alone.
    static func stripComments(_ manifest: String) -> String {
        let text = Array(manifest)
        var out: [Character] = []
        var i = 0
        while i < text.count {
            if text[i] == "\"" {
                let end = min(skipString(text, i), text.count)
                out += text[i..<end]
                i = end
            } else if matches(text, i, "//") {
                while i < text.count, text[i] != "\n" { i += 1 }
            } else if matches(text, i, "/*") {
                i += 2
                while i < text.count, !matches(text, i, "*/") { i += 1 }
                i += 2
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return String(out)
    }
}

/// The `| Target | Job | Depends on |` tables of docs/ARCHITECTURE.md.
enum ModuleMap {
    struct Row {
        var target: String
        var dependencies: Set<String>
        var line: Int
    }

    static func rows(in doc: String) -> [Row] {
        var rows: [Row] = []
        var inTable = false
        for (index, line) in doc.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            let cells = trimmed.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard trimmed.hasPrefix("|"), cells.count >= 5 else { inTable = false; continue }
            if cells[1] == "Target" && cells[cells.count - 2] == "Depends on" { inTable = true; continue }
            guard inTable, !cells[1].allSatisfy({ $0 == "-" || $0 == ":" }) else { continue }
            // The first cell names the target, the last the dependencies; the job may hold escaped pipes.
            rows.append(Row(target: codeSpans(cells[1]).first ?? cells[1],
                            dependencies: Set(codeSpans(cells[cells.count - 2])), line: index + 1))
        }
        return rows
    }

    static func codeSpans(_ cell: String) -> [String] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    static func problems(targets: [ManifestTarget], rows: [Row]) -> [String] {
        var problems: [String] = []
        let byName = Dictionary(targets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for target in targets {
            let count = rows.filter { $0.target == target.name }.count
            if count == 0 && !target.isTest {
                problems.append("`\(target.name)` is a target in Package.swift but has no row in docs/ARCHITECTURE.md")
            } else if count > 1 {
                problems.append("`\(target.name)` has \(count) rows in docs/ARCHITECTURE.md; keep one")
            }
        }
        for row in rows {
            guard let target = byName[row.target] else {
                problems.append("`\(row.target)` (docs/ARCHITECTURE.md line \(row.line)) is not a target in Package.swift")
                continue
            }
            let missing = target.dependencies.subtracting(row.dependencies).sorted()
            let extra = row.dependencies.subtracting(target.dependencies).sorted()
            if !missing.isEmpty || !extra.isEmpty {
                problems.append("`\(row.target)` (docs/ARCHITECTURE.md line \(row.line)): the row's dependencies differ from "
                    + "Package.swift's \(target.dependencies.sorted()); missing \(missing), not in Package.swift \(extra)")
            }
        }
        return problems
    }
}
