import EtcdProto
import Foundation
import HarnessSupport

public struct RobustnessConfig: Sendable {
    public var binary: URL
    public var members: Int
    /// How long clients run and faults are injected.
    public var duration: Duration
    public var clients: Int
    public var seed: UInt64
    public var keys: Int
    /// Also write the recorded history here (it is always kept in the run directory on failure).
    public var historyOut: URL?
    /// Where data dirs and logs go; a fresh temporary directory if nil.
    public var directory: URL?
    public var faults: [FaultKind]
    public var operationTimeout: Duration
    /// Requests per second per client; 0 = closed loop, as fast as answers come.
    public var rate: Double
    /// Time budget of the linearizability search, per key.
    public var checkTimeout: Duration
    /// Appended to every member's command line.
    public var serverArguments: [String]
    /// Keep the run directory even if the run passes.
    public var keepFiles: Bool
    /// Where progress lines go.
    public var log: @Sendable (String) -> Void

    public init(binary: URL, members: Int = 3, duration: Duration = .seconds(60), clients: Int = 6,
                seed: UInt64 = UInt64.random(in: 1...UInt64(UInt32.max)), keys: Int = 4, historyOut: URL? = nil,
                directory: URL? = nil, faults: [FaultKind] = FaultKind.disruptive,
                operationTimeout: Duration = .seconds(3), rate: Double = 20, checkTimeout: Duration = .seconds(120),
                serverArguments: [String] = [], keepFiles: Bool = false,
                log: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.binary = binary
        self.members = members
        self.duration = duration
        self.clients = clients
        self.seed = seed
        self.keys = keys
        self.historyOut = historyOut
        self.directory = directory
        self.faults = faults
        self.operationTimeout = operationTimeout
        self.rate = rate
        self.checkTimeout = checkTimeout
        self.serverArguments = serverArguments
        self.keepFiles = keepFiles
        self.log = log
    }

    /// "etcd" and "swetcd" by name (PATH / `ETCD_BIN`, or `SWETCD_BIN` / next to this
    /// executable), anything else as a path.
    public static func resolveBinary(_ name: String) throws -> URL {
        switch name {
        case "etcd": return try Binaries.fromPath("etcd", override: "ETCD_BIN")
        case "swetcd": return try Binaries.swetcd()
        default:
            guard Binaries.isExecutable(name) else { throw ClusterError("\(name) is not an executable file") }
            return URL(fileURLWithPath: name)
        }
    }
}

/// The robustness run: a cluster, clients recording a history, watchers, faults; then healing,
/// the final comparisons and the checks.
public enum RobustnessRun {
    public static let prefix = "/robustness/"
    /// Where hostile clients write; the watchers see these writes too, so that every revision
    /// has its event, but the checks do not count them as the workload's.
    public static let hostilePrefix = "hostile/"

    public static func run(_ config: RobustnessConfig) async throws -> RobustnessReport {
        let wallStart = ContinuousClock.now
        let directory = config.directory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("swetcd-robustness-\(config.seed)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let cluster = try Cluster(config: ClusterConfig(
            binary: config.binary, members: config.members, directory: directory,
            extraArguments: config.serverArguments, token: "robustness-\(config.seed)-\(getpid())"))
        config.log("""
            robustness: \(config.members) members of \(config.binary.path) in \(directory.path), seed \(config.seed), \
            \(config.duration) of \(config.clients) clients on \(config.keys) keys, faults \
            \(config.faults.map(\.rawValue).joined(separator: ","))
            """)
        var report = RobustnessReport(config: config, directory: directory)
        report.clientPorts = cluster.clientPorts
        do {
            try await cluster.start()
        } catch {
            await cluster.stop()
            config.log("cluster did not start; files kept in \(directory.path)")
            throw error
        }
        config.log("cluster up: client ports \(cluster.clientPorts.map(String.init).joined(separator: ", "))")

        let clock = RunClock()
        let progress = RunProgress()
        let root = SplitMix64(seed: config.seed)
        let keys = (0..<config.keys).map { "\(prefix)key-\($0)" }
        let end = Int64(config.duration.components.seconds) * 1_000_000_000
            + config.duration.components.attoseconds / 1_000_000_000

        let watchers = (0..<config.members).map {
            // Every key: a revision taken by a hostile write must show up too, or it looks like a gap.
            Watcher(id: $0, member: $0, port: cluster.clientPorts[$0], prefix: "", startRevision: 1, clock: clock)
        }
        let watching = watchers.map { watcher in Task { await watcher.run() } }

        let reporter = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(30))
                if Task.isCancelled { break }
                config.log(String(format: "  %.0f s: ", Double(clock.nanoseconds()) / 1e9) + progress.line)
            }
        }
        let workload = WorkloadConfig(clients: config.clients, keys: keys, operationTimeout: config.operationTimeout,
                                      rate: config.rate)
        let faultConfig = FaultConfig(kinds: config.faults, lanes: max(1, (config.members - 1) / 2))
        let slots = FaultSlots()
        async let operations: [HistoryOperation] = withTaskGroup(of: [HistoryOperation].self) { group in
            let ports = cluster.clientPorts
            for client in 0..<config.clients {
                let random = root.derived(client)
                group.addTask {
                    var worker = WorkloadClient(
                        id: client, ports: ports, config: workload, clock: clock, progress: progress, random: random)
                    return await worker.run(until: end)
                }
            }
            var all: [HistoryOperation] = []
            for await part in group { all += part }
            return all
        }
        async let faults: [FaultRecord] = withTaskGroup(of: [FaultRecord].self) { group in
            for lane in 0..<faultConfig.lanes {
                let random = root.derived(1000 + lane)
                group.addTask {
                    var injector = FaultLane(
                        lane: lane, cluster: cluster, config: faultConfig, slots: slots, clock: clock,
                        progress: progress, random: random)
                    return await injector.run(until: end)
                }
            }
            var all: [FaultRecord] = []
            for await part in group { all += part }
            return all
        }
        var history = await operations.sorted { $0.invoked < $1.invoked }
        for index in history.indices { history[index].id = index }
        report.recorded = history
        report.faults = await faults.sorted { $0.started < $1.started }
        reporter.cancel()
        config.log("workload done: " + progress.line + "; healing")

        // Heal, then compare what every member has.
        var harnessErrors: [String] = []
        do {
            try await cluster.heal()
        } catch {
            harnessErrors.append("healing failed: \(error)")
        }
        let finalRevision = await finalRevision(cluster)
        let caughtUp = ContinuousClock.now + .seconds(60)
        while watchers.contains(where: { $0.lastRevision < finalRevision }), ContinuousClock.now < caughtUp {
            try? await Task.sleep(for: .milliseconds(100))
        }
        for task in watching { task.cancel() }
        for task in watching { await task.value }
        report.hashes = await hashes(cluster, revision: finalRevision)
        await cluster.checkCrashes()
        report.crashes = await cluster.crashes
        await cluster.stop()
        report.harnessErrors = harnessErrors

        // Check.
        let recorded = RecordedHistory(operations: history, watchers: watchers.map(\.snapshot),
                                       faults: report.faults, finalRevision: finalRevision)
        config.log("checking \(history.count) operations and \(recorded.watchers.map(\.events.count).reduce(0, +)) watch events")
        report.check = await HistoryCheck.run(recorded, timeout: config.checkTimeout)
        report.wallSeconds = seconds(ContinuousClock.now - wallStart)

        if !report.passed || config.keepFiles {
            let url = directory.appendingPathComponent("history.json")
            try? recorded.write(to: url)
            report.historyFile = url
        } else {
            cluster.removeFiles()
        }
        if let out = config.historyOut {
            try recorded.write(to: out)
            report.historyFile = out
        }
        return report
    }

    /// The highest header revision of a linearizable read on each member (0 if none answered).
    static func finalRevision(_ cluster: Cluster) async -> Int64 {
        var revision: Int64 = 0
        for connection in cluster.admin {
            for _ in 0..<50 {
                if let reply = try? await connection.linearizableRange("health", timeout: .seconds(2)) {
                    revision = max(revision, reply.header.revision)
                    break
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        return revision
    }

    /// HashKV at `revision` from every member (retried while a member has not applied it yet).
    static func hashes(_ cluster: Cluster, revision: Int64) async -> [MemberHash] {
        var hashes: [MemberHash] = []
        for (member, connection) in cluster.admin.enumerated() {
            var request = Etcdserverpb_HashKVRequest()
            request.revision = revision
            var result = MemberHash(member: member, hash: nil, compactRevision: 0, error: "")
            for _ in 0..<60 {
                do {
                    let reply = try await connection.maintenance.hashKV(
                        request, options: MemberConnection.options(timeout: .seconds(5)))
                    result.hash = reply.hash
                    result.compactRevision = reply.compactRevision
                    result.error = ""
                    break
                } catch {
                    result.error = describeError(error)
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
            hashes.append(result)
        }
        return hashes
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

public struct MemberHash: Sendable {
    public var member: Int
    public var hash: UInt32?
    public var compactRevision: Int64
    public var error: String
}

/// All the checks of a recorded history, usable on a saved one.
public struct HistoryCheck: Sendable {
    public var watch = WatchCheckReport()
    public var patch = PatchSummary()
    public var revisionViolations: [String] = []
    public var keys: [KeyResult] = []
    public var operationsChecked = 0
    public var checkedByKind: [OperationKind: Int] = [:]
    public var finalRevision: Int64 = 0

    public var violation: Bool {
        !watch.violations.isEmpty || !revisionViolations.isEmpty || keys.contains { $0.result.isViolation }
    }

    public static func run(_ history: RecordedHistory, timeout: Duration) async -> HistoryCheck {
        var check = HistoryCheck()
        check.finalRevision = history.finalRevision
        check.watch = WatchChecker.check(watchers: history.watchers, operations: history.operations,
                                         finalRevision: history.finalRevision)
        let (operations, summary) = HistoryChecker.prepare(
            history.operations, writeLog: check.watch.writeLog, complete: check.watch.complete)
        check.patch = summary
        check.operationsChecked = operations.count
        for operation in operations { check.checkedByKind[operation.request.kind, default: 0] += 1 }
        let foreign = Set(check.watch.writeLog.filter { $0.value.key.hasPrefix(RobustnessRun.hostilePrefix) }.keys)
        check.revisionViolations = HistoryChecker.checkRevisions(operations, foreignRevisions: foreign)
        let revisions = KeyRevisions.of(operations, writeLog: check.watch.writeLog,
                                        finalRevision: history.finalRevision)
        check.keys = await HistoryChecker.checkLinearizability(operations, timeout: timeout, revisions: revisions)
        return check
    }
}

extension SplitMix64 {
    /// An independent stream for `index` (a client, a fault lane, …).
    public func derived(_ index: Int) -> SplitMix64 {
        var copy = SplitMix64(seed: state ^ (UInt64(truncatingIfNeeded: index) &* 0xD6E8_FEB8_6659_FD93))
        _ = copy.next()
        return copy
    }
}
