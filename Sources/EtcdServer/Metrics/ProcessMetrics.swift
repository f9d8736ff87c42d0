import CoreMetrics
import Foundation
import Metrics
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Prometheus' standard `process_*` series, which Go's client exports for etcd and which
/// every etcd dashboard and alert reads, sampled from `/proc` when `/metrics` is scraped.
final class ProcessMetrics: Sendable {
    private let residentMemory = Gauge(label: "process_resident_memory_bytes")
    private let virtualMemory = Gauge(label: "process_virtual_memory_bytes")
    private let openFDs = Gauge(label: "process_open_fds")
    private let maxFDs = Gauge(label: "process_max_fds")
    private let startTime = Gauge(label: "process_start_time_seconds")
    private let cpuSeconds = FloatingPointCounter(label: "process_cpu_seconds_total")
    /// CPU seconds already counted, so each scrape adds only what was used since.
    private let countedCPU = Mutex<Double>(0)
    /// When the machine booted (`btime` in /proc/stat), seconds since the epoch.
    private let bootTime: Double?

    init() {
        let stat = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) ?? ""
        bootTime = stat.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
        refresh()
    }

    /// Samples the process now.
    func refresh() {
        if let fields = Self.statFields() {
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            // proc(5) numbers the fields from 1 with the pid; `fields` starts at field 3.
            let field = { (number: Int) in Double(fields[number - 3]) ?? 0 }
            let cpu = (field(14) + field(15)) / ticks
            countedCPU.withLock { counted in
                if cpu > counted { cpuSeconds.increment(by: cpu - counted) }
                counted = max(counted, cpu)
            }
            virtualMemory.record(field(23))
            residentMemory.record(field(24) * Double(sysconf(Int32(_SC_PAGESIZE))))
            if let bootTime { startTime.record(bootTime + field(22) / ticks) }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFDs.record(descriptors.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFDs.record(Double(limit.rlim_cur)) }
    }

    /// The fields of /proc/self/stat after the command name (which is in parentheses and
    /// may itself hold spaces), or nil when unreadable.
    private static func statFields() -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count >= 22 ? fields : nil
    }
}
