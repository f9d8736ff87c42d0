import EtcdProto
import Foundation
import Testing
@testable import EtcdServer
import TestLoad

/// A WAL that lost its tail while the backend kept what was applied from it: the member must
/// refuse to start and say what was lost, not repair the WAL and run on without ever serving.
/// (In-process: the same start-up code as the binary, whose `main` exits 1 on this error,
/// without a network round trip per write that a busy machine can stall.)
@Suite(.load(1, limit: .seconds(120))) struct WALTruncationTests {
    @Test func aWALCutBehindTheBackendRefusesToStart() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        let server = try await member.start()
        for index in 0..<20 {
            var put = Etcdserverpb_PutRequest()
            put.key = Data("cut/\(index)".utf8)
            put.value = Data(repeating: UInt8(ascii: "v"), count: 20_480)
            _ = try await server.put(put)
        }
        server.stop()

        // Cut away the last third of the WAL's data: entries the backend already applied.
        let wal = member.directory.appendingPathComponent("member/wal")
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: wal.path).filter { $0.hasSuffix(".wal") }.sorted().last)
        let file = wal.appendingPathComponent(segment)
        let bytes = try Data(contentsOf: file)
        let end = (bytes.lastIndex { $0 != 0 } ?? -1) + 1
        #expect(end > 300_000)
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: UInt64(end * 2 / 3))
        try handle.close()

        do {
            let restarted = try await member.start()
            restarted.stop()
            Issue.record("the member started on a WAL behind its backend")
        } catch {
            let message = "\(error)"
            #expect(message.contains("ends at index") && message.contains("has applied index"), "\(message)")
            #expect(message.contains("restore the data dir from a snapshot or backup"), "\(message)")
        }
    }
}
