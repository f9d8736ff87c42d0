import Foundation
import HarnessSupport
import Testing
import TestLoad
#if canImport(Glibc)
import Glibc
#endif

/// The seeds' primary/standby example (a service that must run exactly once, with standbys
/// that take over within seconds): three real `etcdctl lock --ttl 1 primary <command>`
/// processes contend for one lock held by a 1 s lease (`--election-timeout 500` makes 1 s
/// etcd's minimum TTL). The command, run only while the lock is held, logs ticks with the
/// lock's fencing revision (`$ETCD_LOCK_REV`). The holder's whole process group is killed
/// with SIGKILL twice; each time a standby must take over (the time it took is printed: a
/// bound on it belongs in a benchmark, not in a test on a shared machine), and the tick log
/// must show one holder at a time: runs of ticks by one worker with one revision, revisions
/// that only go up, and no tick of a killed holder after its kill.
@Suite(.load(3)) struct LockFailoverTests {
    struct Tick {
        var revision: Int64
        var time: Double
        var worker: String
    }

    @Test func primaryStandbyFailover() throws {
        let server = try makeSwetcd("swetcd-lock-failover", extraArguments: ["--election-timeout", "500"])
        let etcdctl = try Binaries.fromPath("etcdctl", override: "ETCDCTL_BIN")
        let directory = server.directory.appendingPathComponent("workers")
        var workers: [(name: String, process: Process, pidFile: URL)] = []
        func groupID(_ pidFile: URL) -> pid_t? {
            (try? String(contentsOf: pidFile, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        defer {
            for worker in workers {
                if let group = groupID(worker.pidFile) { kill(-group, SIGKILL) }
                if worker.process.isRunning { kill(worker.process.processIdentifier, SIGKILL) }
                worker.process.waitUntilExit()
            }
            server.stop()
            server.removeFiles()
        }
        try server.startAndWait()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ticksURL = directory.appendingPathComponent("ticks.log")
        FileManager.default.createFile(atPath: ticksURL.path, contents: nil)

        // Each worker: a new session and process group (setsid) whose leader, a shell, records
        // its PID (= the group ID) and becomes etcdctl.
        for n in 1...3 {
            let name = "worker-\(n)"
            let pidFile = directory.appendingPathComponent("\(name).pgid")
            let work = "while :; do echo \"$ETCD_LOCK_REV $(date +%s.%N) \(name)\" >> '\(ticksURL.path)'; sleep 0.1; done"
            let script = "echo $$ > '\(pidFile.path)'; exec '\(etcdctl.path)' --endpoints=\(server.clientURL) "
                + "lock --ttl 1 primary -- sh -c '\(work.replacingOccurrences(of: "'", with: "'\\''"))'"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
            process.arguments = ["-w", "/bin/sh", "-c", script]
            process.environment = Binaries.cleanEnvironment(["ETCDCTL_API": "3"])
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            FileManager.default.createFile(atPath: directory.appendingPathComponent("\(name).err").path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent("\(name).err"))
            process.standardInput = FileHandle.nullDevice
            try process.run()
            workers.append((name, process, pidFile))
            // One at a time: the next starts once this one's shell runs.
            let deadline = Date().addingTimeInterval(10)
            while groupID(pidFile) == nil && Date() < deadline { usleep(10_000) }
            #expect(groupID(pidFile) != nil, "\(name) did not start")
        }

        func ticks() -> [Tick] {
            let text = (try? String(contentsOf: ticksURL, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count == 3, let revision = Int64(parts[0]), let time = Double(parts[1]) else { return nil }
                return Tick(revision: revision, time: time, worker: String(parts[2]))
            }
        }
        func waitForTick(after time: Double, notBy excluded: Set<String>, timeout: TimeInterval) -> Tick? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let tick = ticks().first(where: { $0.time > time && !excluded.contains($0.worker) }) { return tick }
                usleep(10_000)
            }
            return nil
        }

        /// Waits until the latest holder has ticked `count` times in a row (a holder that
        /// has been running a while); returns it.
        func waitForHolder(ticking count: Int, timeout: TimeInterval = 30) -> String? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                let log = ticks()
                if let last = log.last, log.suffix(count).count == count,
                   log.suffix(count).allSatisfy({ $0.worker == last.worker && $0.revision == last.revision }) {
                    return last.worker
                }
                usleep(10_000)
            }
            return nil
        }

        guard waitForTick(after: 0, notBy: [], timeout: 15) != nil else {
            Issue.record("no worker got the lock")
            return
        }

        var killed: [(worker: String, at: Double)] = []
        var takeovers: [Double] = []
        for _ in 1...2 {
            guard let holder = waitForHolder(ticking: 5), let worker = workers.first(where: { $0.name == holder }),
                  let group = groupID(worker.pidFile)
            else {
                Issue.record("no holder ticked 5 times in a row within 30 s")
                break
            }
            let killTime = Date().timeIntervalSince1970
            kill(-group, SIGKILL)
            worker.process.waitUntilExit()
            killed.append((holder, killTime))
            guard let next = waitForTick(after: killTime, notBy: Set(killed.map(\.worker)), timeout: 30) else {
                Issue.record("no standby took over within 30 s of killing \(holder)")
                break
            }
            takeovers.append(next.time - killTime)
        }
        // The last holder runs a while too, so a tick of a killed holder would have had time to show.
        if waitForHolder(ticking: 5) == nil { Issue.record("the last holder did not tick 5 times in a row") }

        // One holder at a time, as the fencing revision shows.
        let log = ticks()
        var runs: [(worker: String, revision: Int64, count: Int)] = []
        for tick in log {
            if let last = runs.last, last.worker == tick.worker, last.revision == tick.revision {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((tick.worker, tick.revision, 1))
            }
        }
        #expect(runs.count == killed.count + 1, "holders, in tick order: \(runs.map { "\($0.worker)@\($0.revision)×\($0.count)" })")
        #expect(Set(runs.map(\.worker)).count == runs.count, "a worker held the lock twice or ticks interleaved")
        for (earlier, later) in zip(runs, runs.dropFirst()) {
            #expect(earlier.revision < later.revision, "the fencing revision went back")
        }
        for (worker, at) in killed {
            #expect(!log.contains { $0.worker == worker && $0.time > at + 0.05 }, "\(worker) ticked after it was killed")
        }
        print("lock failover: holders \(runs.map { "\($0.worker) (rev \($0.revision), \($0.count) ticks)" }.joined(separator: " → ")); "
            + "takeover " + takeovers.map { String(format: "%.2f s", $0) }.joined(separator: ", ") + " after kill -9")
    }
}
