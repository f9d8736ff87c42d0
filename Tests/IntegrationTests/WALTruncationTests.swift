import Foundation
import SwetcdTestSupport
import Testing

/// A WAL that lost its tail while the backend kept what was applied from it: the real
/// `swetcd` must refuse to start and say what was lost, not repair the WAL and run on
/// without ever serving.
@Suite struct WALTruncationTests {
    /// The segment files of a member's WAL, oldest first.
    static func segments(_ server: ServerProcess) throws -> [URL] {
        let wal = server.directory.appendingPathComponent("data/member/wal")
        return try FileManager.default.contentsOfDirectory(atPath: wal.path)
            .filter { $0.hasSuffix(".wal") }.sorted()
            .map { wal.appendingPathComponent($0) }
    }

    /// The offset just after the last non-zero byte of a (preallocated, zero-filled) file.
    static func endOfData(_ file: URL) throws -> Int {
        let bytes = try Data(contentsOf: file)
        return (bytes.lastIndex { $0 != 0 } ?? -1) + 1
    }

    @Test func truncatedWALBehindTheBackendRefusesToStart() async throws {
        let server = try makeSwetcd("swetcd-wal-cut")
        defer {
            server.stop()
            server.removeFiles()
        }
        try server.startAndWait()
        let client = try EtcdTestClient(port: server.clientPort)
        // Few, large writes: the WAL grows past 300 KB with few fsyncs, which a machine busy
        // with other tests' fsyncs can make slow; the timeout only bounds a wedged member.
        let value = String(repeating: "v", count: 20_480)
        for index in 0..<20 { _ = try await client.put("cut/\(index)", value, timeout: 60) }
        await client.close()
        server.stop()
        let child = try #require(server.child)
        #expect(child.wait(timeout: 30), "swetcd did not stop on SIGTERM")

        // Cut away the last third of the WAL's data: entries the backend already applied.
        let segment = try #require(try Self.segments(server).last)
        let end = try Self.endOfData(segment)
        #expect(end > 300_000)
        let handle = try FileHandle(forWritingTo: segment)
        try handle.truncate(atOffset: UInt64(end * 2 / 3))
        try handle.close()

        try server.start()
        let restarted = try #require(server.child)
        #expect(restarted.wait(timeout: 60), "swetcd kept running on a WAL behind its backend:\n\(server.logTail())")
        #expect(restarted.process.terminationStatus != 0)
        let log = server.log
        #expect(log.contains("ends at index") && log.contains("has applied index"), "\(server.logTail())")
        #expect(log.contains("restore the data dir from a snapshot or backup"), "\(server.logTail())")
        // The log file starts afresh with each start: this is the restart's alone.
        #expect(!log.contains(ServerProcess.readyMessage), "the restarted member must not serve")
    }
}
