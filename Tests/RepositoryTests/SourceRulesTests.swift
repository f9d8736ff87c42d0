import Foundation
import Testing

/// The house rules a reader relies on: no hand-written source file a reader can't hold in mind
/// (400 lines at most), and every `public` declaration of the member (`EtcdServer`) documented.
@Suite struct SourceRulesTests {
    static let root = ModuleMapTests.root

    /// Swift files under `directory`, generated code left out.
    static func swiftFiles(under directory: String) -> [URL] {
        let base = root.appendingPathComponent(directory)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        return walker.compactMap { $0 as? URL }.filter {
            $0.pathExtension == "swift" && !$0.path.contains("/EtcdProto/") && !$0.lastPathComponent.hasSuffix(".pb.swift")
                && !$0.lastPathComponent.hasSuffix(".grpc.swift")
        }
    }

    @Test func noHandWrittenFileIsOver400Lines() throws {
        for file in Self.swiftFiles(under: "Sources") + Self.swiftFiles(under: "Tests") {
            let lines = try String(contentsOf: file, encoding: .utf8).reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
            #expect(lines <= 400, "\(file.path) has \(lines) lines: split it by concept")
        }
    }

    @Test func everyPublicDeclarationOfTheMemberIsDocumented() throws {
        for file in Self.swiftFiles(under: "Sources/EtcdServer") {
            let lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
            for (number, line) in lines.enumerated() where Self.declaresPublic(line) {
                var previous = number - 1
                while previous >= 0, lines[previous].trimmingCharacters(in: .whitespaces).hasPrefix("@") { previous -= 1 }
                let documented = previous >= 0 && lines[previous].trimmingCharacters(in: .whitespaces).hasPrefix("///")
                #expect(documented, "\(file.lastPathComponent):\(number + 1) has no /// comment: \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
    }

    /// A line that declares something public (extensions are not declarations of their own).
    static func declaresPublic(_ line: String) -> Bool {
        let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
        guard let publicAt = words.firstIndex(of: "public") else { return false }
        guard words[..<publicAt].allSatisfy({ $0.hasPrefix("@") }) else { return false }
        return words.dropFirst(publicAt + 1).first != "extension"
    }
}
