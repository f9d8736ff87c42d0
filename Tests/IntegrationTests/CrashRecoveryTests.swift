import EtcdProto
import Foundation
import HarnessSupport
import Synchronization
import XCTest

/// `kill -9` at random moments under a concurrent write load: after every restart each
/// acknowledged write must be there, at the revision it was acknowledged with, and the
/// server must start (never refuse its own data).
final class CrashRecoveryTests: XCTestCase {
    /// What the writers were told: key → (value, revision).
    final class Acknowledged: Sendable {
        private let writes = Mutex<[String: (value: String, revision: Int64)]>([:])
        func record(_ key: String, _ value: String, _ revision: Int64) {
            writes.withLock { $0[key] = (value, revision) }
        }
        var all: [String: (value: String, revision: Int64)] { writes.withLock { $0 } }
    }

    final class Counter: Sendable {
        private let count = Atomic(0)
        func increment() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    func testAcknowledgedWritesSurviveKillNine() async throws {
        let rounds = Int(ProcessInfo.processInfo.environment["CRASH_ROUNDS"] ?? "") ?? 20
        let writers = 16
        var generator = SystemRandomNumberGenerator()
        let server = try makeSwetcd("swetcd-crash")
        defer {
            server.stop()
            server.removeFiles()
        }
        let acknowledged = Acknowledged()
        var attempted = 0
        var lastRevision: Int64 = 1

        for round in 0..<rounds {
            try server.startAndWait()
            let client = try EtcdTestClient(port: server.clientPort)

            // Everything acknowledged so far is there, at its revision.
            let verified = try await verify(acknowledged.all, client: client, round: round)
            XCTAssertEqual(verified, acknowledged.all.count)

            // The store never goes back in time across a crash.
            let revision = try await client.get("crash-probe").header.revision
            XCTAssertGreaterThanOrEqual(revision, lastRevision, "round \(round): revision went back")
            lastRevision = revision

            // Writers hammer the server; it is killed at a random moment while they write.
            let killAfter = Double.random(in: 0.05...0.6, using: &generator)
            let counter = Counter()
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var sequence = 0
                        while true {
                            let key = "crash/\(round)/\(writer)/\(sequence)"
                            let value = "v\(round)-\(writer)-\(sequence)"
                            sequence += 1
                            counter.increment()
                            guard let response = try? await client.put(key, value) else { return }
                            acknowledged.record(key, value, response.header.revision)
                        }
                    }
                }
                try? await Task.sleep(for: .seconds(killAfter))
                server.crash()
            }
            attempted += counter.value
            await client.close()
        }

        // A final restart: the last round's writes too.
        try server.startAndWait()
        let client = try EtcdTestClient(port: server.clientPort)
        let verified = try await verify(acknowledged.all, client: client, round: rounds)
        await client.close()
        print("crash test: \(rounds) kill -9 rounds, \(attempted) writes attempted, \(verified) acknowledged and verified after restart")
        XCTAssertGreaterThan(verified, rounds * writers, "too few writes were acknowledged to prove anything")
    }

    /// Checks every acknowledged write; returns how many were checked.
    private func verify(
        _ writes: [String: (value: String, revision: Int64)], client: EtcdTestClient, round: Int
    ) async throws -> Int {
        // Read by prefix in one range per round and compare, rather than one get per key.
        let all = try await client.get("crash/", rangeEnd: "crash0")
        var stored: [String: Mvccpb_KeyValue] = [:]
        for kv in all.kvs { stored[String(decoding: kv.key, as: UTF8.self)] = kv }
        for (key, write) in writes {
            guard let kv = stored[key] else {
                XCTFail("round \(round): acknowledged write \(key) at revision \(write.revision) is lost")
                continue
            }
            XCTAssertEqual(String(decoding: kv.value, as: UTF8.self), write.value, "round \(round): \(key)")
            XCTAssertEqual(kv.modRevision, write.revision, "round \(round): \(key) has the wrong revision")
        }
        return writes.count
    }
}
