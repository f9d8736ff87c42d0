import EtcdErrors
import Foundation
import GRPCCore

/// What a hostile input must get back from the member.
enum HostileExpectation: Sendable, CustomStringConvertible {
    /// Success (the input is legal, if odd).
    case success
    /// An error status with exactly etcd's message.
    case error(String)
    /// Any error status, or a closed connection.
    case anyError
    /// Success, an error status or a closed connection: anything but silence or a dead member.
    case anyAnswer
    /// Whatever the call answers, then `verify` must find no effect of it (nil) — for forged
    /// messages the transport hands on and the member has to drop.
    case dropped(verify: @Sendable () async -> String?)

    var description: String {
        switch self {
        case .success: "success"
        case .error(let message): "error \"\(message)\""
        case .anyError: "an error or a closed connection"
        case .anyAnswer: "an answer or a closed connection"
        case .dropped: "the input dropped"
        }
    }
}

/// Sends hostile inputs to one member, one at a time, judges each answer against its
/// expectation, checks after each that the member still answers, and records each as a
/// `FaultRecord`. Once the member stops answering, the remaining inputs are not sent.
struct HostileRecorder {
    let kind: FaultKind
    let member: Int
    let cluster: Cluster
    let clock: RunClock
    let wasLeader: Bool
    var records: [FaultRecord] = []
    var memberLost = false

    /// Deadline of each call.
    static let timeout: Duration = .seconds(5)
    /// Attempts of a call that failed for a reason unrelated to its input (no leader for a
    /// moment, a connection being set up).
    static let attempts = 3

    /// Sends one input through `call`, which returns a description of a successful answer or
    /// throws the error the member answered with.
    mutating func probe(_ name: String, expect: HostileExpectation,
                        _ call: @Sendable () async throws -> String) async {
        guard !memberLost else { return }
        let started = clock.nanoseconds()
        var outcome: Result<String, any Error> = .failure(CancellationError())
        for attempt in 1...Self.attempts {
            do {
                outcome = .success(try await call())
            } catch {
                outcome = .failure(error)
            }
            guard case .failure(let error) = outcome, Self.isTransient(error), attempt < Self.attempts else { break }
            try? await Task.sleep(for: .milliseconds(300))
        }
        let (answer, refused, failure) = await judge(outcome, expect)
        await record(name, started: started, answer: answer, refused: refused, failure: failure)
    }

    /// Records an input judged by the caller (raw socket inputs), then checks the member.
    mutating func record(_ name: String, started: Int64, answer: String, refused: Bool, failure: String) async {
        guard !memberLost else { return }
        var failure = failure
        if let lost = await memberStopped() {
            memberLost = true
            failure = failure.isEmpty ? lost : "\(failure); \(lost)"
        }
        var record = FaultRecord(kind: kind, member: member, wasLeader: wasLeader, started: started,
                                 ended: clock.nanoseconds(), failure: failure)
        record.probe = name
        record.answer = answer
        record.refused = refused
        records.append(record)
    }

    private func judge(_ outcome: Result<String, any Error>,
                       _ expect: HostileExpectation) async -> (answer: String, refused: Bool, failure: String) {
        let answer: String
        let error: (any Error)?
        switch outcome {
        case .success(let text):
            answer = "ok " + text
            error = nil
        case .failure(let failed):
            answer = describeError(failed)
            error = failed
        }
        let rpc = error as? RPCError
        let silent = rpc?.code == .deadlineExceeded
        switch expect {
        case .success:
            return (answer, error != nil, error == nil ? "" : "expected success, got \(answer)")
        case .error(let message):
            if error == nil { return (answer, false, "accepted; expected \"\(message)\"") }
            return (answer, true, rpc?.message == message ? "" : "expected \"\(message)\", got \(answer)")
        case .anyError:
            if error == nil { return (answer, false, "accepted; expected a refusal") }
            return (answer, true, silent ? "no answer within \(Self.timeout)" : "")
        case .anyAnswer:
            return (answer, error != nil, silent ? "no answer within \(Self.timeout)" : "")
        case .dropped(let verify):
            _ = try? await cluster.admin[member].linearizableRange("health", timeout: .seconds(3))
            let effect = await verify()
            return (answer, effect == nil, effect.map { "not dropped: \($0)" } ?? "")
        }
    }

    /// Why the member counts as lost (exited, or not answering Status), or nil if it is fine.
    private func memberStopped() async -> String? {
        if !(await cluster.isUp(member)) {
            await cluster.checkCrashes()
            return "member \(member) died after this input"
        }
        for _ in 0..<3 {
            if await cluster.admin[member].status(timeout: .seconds(2)) != nil { return nil }
        }
        return "member \(member) stopped answering Status after this input"
    }

    /// An error that may be unrelated to the input: the member had no leader for a moment (an
    /// election under other faults), or the call found no connection.
    static func isTransient(_ error: any Error) -> Bool {
        guard let rpc = error as? RPCError else { return false }
        if failedBeforeSending(error) || rpc.code == .deadlineExceeded { return true }
        return [EtcdErrorKind.leaderChanged.message, EtcdErrorKind.noLeader.message, EtcdErrorKind.timeout.message]
            .contains(rpc.message)
    }
}

/// The value of an etcd flag in `arguments` (`--name value`, `--name=value`, one dash or two).
func flagValue(_ name: String, in arguments: [String]) -> String? {
    var value: String?
    for (index, argument) in arguments.enumerated() {
        for dashes in ["-", "--"] {
            if argument == dashes + name, index + 1 < arguments.count { value = arguments[index + 1] }
            if argument.hasPrefix(dashes + name + "=") { value = String(argument.dropFirst(dashes.count + name.count + 1)) }
        }
    }
    return value
}
