import Foundation
import Synchronization
import Testing
@testable import EtcdServer
import TestLoad

/// Clients waiting for their proposal: answered once, by the apply, a timeout or a stop.
@Suite(.load(1)) struct WaitRegistryTests {
    final class Answers: Sendable {
        private let answers = Mutex<[UInt64: [Result<ApplyResult, EtcdError>]]>([:])
        func completion(_ id: UInt64) -> ApplyCompletion {
            { result in self.answers.withLock { $0[id, default: []].append(result) } }
        }
        func of(_ id: UInt64) -> [Result<ApplyResult, EtcdError>] { answers.withLock { $0[id] ?? [] } }
    }

    @Test func expiryAnswersOnlyThosePastTheirDeadlineAndOnlyOnce() {
        let waits = WaitRegistry()
        let answers = Answers()
        waits.register(1, deadline: .now - .seconds(1), answers.completion(1))
        waits.register(2, deadline: .now + .seconds(60), answers.completion(2))
        waits.expire(.timeout)
        #expect(answers.of(1).count == 1)
        #expect(answers.of(2).isEmpty)
        waits.trigger(1, .success(.none))
        #expect(answers.of(1).count == 1, "an apply after the timeout answers nobody")
        waits.trigger(2, .success(.none))
        waits.trigger(2, .success(.none))
        #expect(answers.of(2).count == 1)
        #expect(waits.count == 0)
    }

    @Test func stoppingFailsEveryWaiter() {
        let waits = WaitRegistry()
        let answers = Answers()
        for id in 1...5 { waits.register(UInt64(id), deadline: .now + .seconds(60), answers.completion(UInt64(id))) }
        waits.failAll(.stopped)
        for id in 1...5 {
            guard case .failure(let error)? = answers.of(UInt64(id)).first else {
                Issue.record("waiter \(id) got \(answers.of(UInt64(id)))")
                continue
            }
            #expect(error == .stopped)
        }
        #expect(waits.count == 0)
    }

    /// A request that times out in the member: the client hears `request timed out`, and the
    /// member goes on serving.
    @Test func aProposalNobodyAppliesTimesOut() async throws {
        let member = try InProcessMember()
        defer { member.remove() }
        let server = try await member.start()
        defer { server.stop() }
        // Registered but never submitted to Raft: only the timeout can answer it.
        await #expect(throws: EtcdError.timeout) {
            try await server.wait(for: 42, deadline: .now + .milliseconds(200)) { true }
        }
        #expect(try await server.put(.with { $0.key = Data("after".utf8) }).header.revision > 0)
    }
}
