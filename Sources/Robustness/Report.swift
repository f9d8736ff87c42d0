import Foundation

/// What a run found, and its printout.
public struct RobustnessReport: Sendable {
    public var config: RobustnessConfig
    public var directory: URL
    public var faults: [FaultRecord] = []
    public var hashes: [MemberHash] = []
    public var crashes: [String] = []
    public var harnessErrors: [String] = []
    public var check = HistoryCheck()
    /// The operations as recorded (before failed ones were settled), for the counts.
    public var recorded: [HistoryOperation] = []
    public var wallSeconds = 0.0
    public var historyFile: URL?
    public var clientPorts: [Int] = []

    init(config: RobustnessConfig, directory: URL) {
        self.config = config
        self.directory = directory
    }

    public var hashesAgree: Bool {
        let values = hashes.map(\.hash)
        return !values.isEmpty && values.allSatisfy { $0 != nil && $0 == values[0] }
    }

    public var faultFailures: [FaultRecord] {
        faults.filter { $0.kind != .moveLeader && !$0.failure.isEmpty }
    }

    /// No violation of any check, no crash, every member agreeing and back after its faults.
    public var passed: Bool {
        !check.violation && hashesAgree && crashes.isEmpty && harnessErrors.isEmpty && faultFailures.isEmpty
    }

    /// Keys whose search ran out of time: neither passed nor failed.
    public var inconclusiveKeys: [String] {
        check.keys.filter(\.result.isInconclusive).map(\.key)
    }

    /// Error messages with member ports replaced by member names, so that they group.
    private func normalize(_ message: String) -> String {
        var text = message
        for (member, port) in clientPorts.enumerated() {
            text = text.replacingOccurrences(of: "127.0.0.1:\(port)", with: "m\(member)")
        }
        return text
    }

    /// Per hostile input: how often it was sent and what it got back (the most common answer).
    private var hostileLines: [String] {
        var answers: [String: [String: Int]] = [:]
        var order: [String] = []
        for fault in faults where fault.kind.isHostile {
            let input = "\(fault.kind.rawValue): \(fault.probe ?? "?")"
            if answers[input] == nil { order.append(input) }
            answers[input, default: [:]][normalize(fault.answer ?? ""), default: 0] += 1
        }
        return order.compactMap { input in
            guard let seen = answers[input], let common = seen.max(by: { $0.value < $1.value }) else { return nil }
            let count = seen.values.reduce(0, +)
            let others = seen.count > 1 ? " (+\(seen.count - 1) other answers)" : ""
            return "    \(input) ×\(count) → \(common.key)\(others)"
        }
    }

    public var text: String {
        var lines: [String] = []
        let binary = config.binary.path
        lines.append("robustness report: \(config.members) members of \(binary), seed \(config.seed), \(config.clients) clients, \(config.keys) keys")
        lines.append("wall time: \(String(format: "%.1f", wallSeconds)) s (\(config.duration) of workload and faults)")

        // Operations.
        var total: [OperationKind: Int] = [:]
        var failed: [OperationKind: Int] = [:]
        var errors: [String: Int] = [:]
        for operation in recorded {
            total[operation.request.kind, default: 0] += 1
            if operation.response == nil {
                failed[operation.request.kind, default: 0] += 1
                errors[normalize(operation.error ?? "?"), default: 0] += 1
            }
        }
        let byKind = OperationKind.allCases.map { "\($0.rawValue) \(total[$0] ?? 0) (\(failed[$0] ?? 0) failed)" }
        lines.append("operations recorded: \(recorded.count): " + byKind.joined(separator: ", "))
        lines += check.operationLines
        if !errors.isEmpty {
            lines.append("errors clients saw:")
            for (message, count) in errors.sorted(by: { $0.value > $1.value }).prefix(12) {
                lines.append("    \(count)× \(message)")
            }
        }

        // Faults.
        var faultLine: [String] = []
        for kind in FaultKind.allCases where !kind.isHostile || config.faults.contains(kind) {
            let ofKind = faults.filter { $0.kind == kind }
            switch kind {
            case .hostileClient, .hostilePeer:
                let refused = ofKind.filter { $0.refused == true }.count
                let unexpected = ofKind.filter { !$0.failure.isEmpty }.count
                faultLine.append("\(kind.rawValue) \(ofKind.count) inputs (\(refused) refused, \(unexpected) unexpected)")
            case .kill, .pause:
                let leaders = ofKind.filter(\.wasLeader).count
                faultLine.append("\(kind.rawValue) \(ofKind.count) (leader \(leaders), follower \(ofKind.count - leaders))")
            case .moveLeader:
                let failures = ofKind.filter { !$0.failure.isEmpty }
                faultLine.append("\(kind.rawValue) \(ofKind.count) (\(failures.count) refused)")
            }
        }
        lines.append("faults injected: \(faults.count): " + faultLine.joined(separator: ", "))
        var moveErrors: [String: Int] = [:]
        for fault in faults where fault.kind == .moveLeader && !fault.failure.isEmpty {
            moveErrors[fault.failure, default: 0] += 1
        }
        for (message, count) in moveErrors.sorted(by: { $0.value > $1.value }) {
            lines.append("    move-leader refused \(count)× \(message)")
        }
        let elections = faults.filter { $0.wasLeader && ($0.kind == .kill || $0.kind == .pause) }
        let measured = elections.compactMap(\.newLeaderAfter).sorted()
        if !elections.isEmpty {
            let spread = measured.isEmpty ? "" : ", median \(measured[measured.count / 2]) ms, max \(measured.last!) ms"
            lines.append("    new leader after a leader kill/pause: \(measured.count) of \(elections.count) elected "
                + "before the leader came back\(spread)")
        }
        lines += hostileLines
        for fault in faultFailures {
            let input = fault.probe.map { " (\($0))" } ?? ""
            lines.append("    FAILED \(fault.kind.rawValue) of member \(fault.member)\(input): \(fault.failure)")
        }

        // Hashes.
        let hashText = hashes.map { hash in
            hash.hash.map { "m\(hash.member) \(String($0, radix: 16))" } ?? "m\(hash.member) error \(hash.error)"
        }.joined(separator: ", ")
        lines.append("hashKV at revision \(check.finalRevision): \(hashesAgree ? "equal" : "DIVERGENT") (\(hashText))")

        lines += check.lines
        for crash in crashes { lines.append("CRASH: " + crash) }
        for error in harnessErrors { lines.append("ERROR: " + error) }
        if let historyFile { lines.append("history: \(historyFile.path)") }
        if !passed { lines.append("files kept in \(directory.path)") }
        lines.append("result: " + (passed ? (inconclusiveKeys.isEmpty ? "PASS" : "PASS (some keys inconclusive)") : "FAIL"))
        return lines.joined(separator: "\n")
    }
}

extension HistoryCheck {
    /// How many operations were checked, and how failed ones were settled.
    public var operationLines: [String] {
        let byKind = OperationKind.allCases.map { "\($0.rawValue) \(checkedByKind[$0] ?? 0)" }
        return [
            "operations checked: \(operationsChecked): " + byKind.joined(separator: ", "),
            "    dropped: \(patch.notSent) failed before sending, \(patch.droppedReads) failed reads; failed writes "
                + "the watch showed happened \(patch.happened), never happened \(patch.neverHappened), left pending "
                + "\(patch.unresolved)",
        ]
    }

    /// The checks' part of the report.
    public var lines: [String] {
        var lines: [String] = []
        // Watch.
        let watch = self.watch
        lines.append("""
            watch: \(watch.watchers) watchers, \(watch.eventsChecked) events checked, \(watch.reconnects) reconnects, \
            log up to revision \(finalRevision) \(watch.complete ? "complete" : "INCOMPLETE"): \
            \(watch.violations.isEmpty ? "ok (order, no gaps, no duplicates, agreement, matches history)" : "\(watch.violations.count) VIOLATIONS")
            """)
        lines += watch.violations.map { "    " + $0 }

        // Revisions and linearizability.
        lines.append("revision order across keys: " + (revisionViolations.isEmpty ? "ok" : "\(revisionViolations.count) VIOLATIONS"))
        lines += revisionViolations.map { "    " + $0 }
        lines.append("linearizability per key:")
        for key in keys {
            let verdict: String
            switch key.result {
            case .linearizable: verdict = "linearizable"
            case .notLinearizable: verdict = "NOT LINEARIZABLE"
            case .unknown: verdict = "inconclusive (search ran out of time)"
            }
            lines.append("    \(key.key): \(verdict) (\(key.operations) operations, \(key.pending) pending, "
                + String(format: "%.2f s)", key.seconds))
            lines += key.explanation.map { "        " + $0 }
        }
        return lines
    }

    public var text: String {
        (operationLines + lines + ["result: " + (violation ? "FAIL" : "PASS")]).joined(separator: "\n")
    }
}
