import EtcdClient
import EtcdProto
import Foundation
import Synchronization

/// make-mirror and migrate.
enum MirrorCommands {
    static func register(_ app: App) {
        let mirror = Command("make-mirror [options] <destination>", short: "Makes a mirror at the destination etcd cluster")
        let prefix = mirror.flags.string("prefix", nil, "", "Key-value prefix to mirror")
        let destPrefix = mirror.flags.string("dest-prefix", nil, "",
            "destination prefix to mirror a prefix to a different prefix in the destination cluster")
        let noDestPrefix = mirror.flags.bool("no-dest-prefix", nil, false, "mirror key-values to the root of the destination cluster")
        let cert = mirror.flags.string("dest-cert", nil, "",
            "Identify secure client using this TLS certificate file for the destination cluster")
        let key = mirror.flags.string("dest-key", nil, "", "Identify secure client using this TLS key file")
        let cacert = mirror.flags.string("dest-cacert", nil, "", "Verify certificates of TLS enabled secure servers using this CA bundle")
        let insecure = mirror.flags.bool("dest-insecure-transport", nil, true, "Disable transport security for client connections")
        mirror.run = { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "make-mirror takes one destination argument") }
            var destination = EtcdClient.Configuration(endpoints: [invocation.args[0]])
            destination.dialTimeout = app.dialTimeoutDuration
            if !cert.string.isEmpty || !key.string.isEmpty || !cacert.string.isEmpty {
                destination.tls = .init(trustedCAFile: cacert.string.isEmpty ? nil : cacert.string,
                                        certificateFile: cert.string.isEmpty ? nil : cert.string,
                                        keyFile: key.string.isEmpty ? nil : key.string)
            } else if !insecure.bool {
                destination.tls = .init()
            }
            let target = await app.makeClient(destination)
            let source = await app.client(invocation)
            if noDestPrefix.bool && !destPrefix.string.isEmpty {
                exitWithError(.badArgs, "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one")
            }
            let from = prefix.string
            let to = noDestPrefix.bool || !destPrefix.string.isEmpty ? destPrefix.string : from
            do {
                try await makeMirror(source: source, target: target, prefix: from, destinationPrefix: to)
            } catch {
                exitWithError(.error, error)
            }
            exitWithError(.error, "<nil>")
        }

        let migrate = Command("migrate", short: "Migrates keys in a v2 store to a mvcc store")
        _ = migrate.flags.bool("no-ttl", nil, false, "Do not convert TTL keys")
        _ = migrate.flags.string("data-dir", nil, "", "Path to the data directory")
        _ = migrate.flags.string("wal-dir", nil, "", "Path to the WAL directory")
        _ = migrate.flags.string("transformer", nil, "", "Path to the user-provided transformer program")
        migrate.run = { _ in
            exitWithError(.error, "migrate converts an etcd v2 data directory and is not supported by swetcdctl")
        }
        app.root.add(mirror, migrate)
    }

    /// Copies every key under `prefix` as of one revision, then follows the changes.
    static func makeMirror(source: EtcdClient, target: EtcdClient, prefix: String, destinationPrefix: String) async throws {
        let total = Atomic<Int64>(0)
        let reporter = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(30))
                Out.line(String(total.load(ordering: .relaxed)))
            }
        }
        defer { reporter.cancel() }
        func rename(_ key: Data) -> EtcdBytes {
            let text = String(decoding: key, as: UTF8.self)
            guard !prefix.isEmpty, let range = text.range(of: prefix) else {
                return prefix.isEmpty ? EtcdBytes(destinationPrefix) + EtcdBytes(key) : EtcdBytes(key)
            }
            return EtcdBytes(text.replacingCharacters(in: range, with: destinationPrefix))
        }
        let range: KeyRange = prefix.isEmpty ? .all : .prefix(EtcdBytes(prefix))
        let first = try await source.kv.get(range, options: GetOptions(limit: 1))
        let revision = first.header.revision
        var (start, end) = range.bounds
        while true {
            let page = try await source.kv.get(.range(start, end), options: GetOptions(limit: 1000, revision: revision))
            for kv in page.raw.kvs {
                try await target.kv.put(rename(kv.key), EtcdBytes(kv.value))
                total.add(1, ordering: .relaxed)
            }
            guard page.more, let last = page.raw.kvs.last else { break }
            start = EtcdBytes(last.key + Data([0]))
        }
        (start, end) = range.bounds
        for try await response in source.watch.watch(.range(start, end), options: WatchOptions(startRevision: revision + 1)) {
            var ops: [TxnOp] = []
            var lastRevision: Int64 = 0
            for event in response.raw.events {
                if lastRevision != 0 && event.kv.modRevision > lastRevision {
                    _ = try await target.kv.txn(if: [], then: ops)
                    ops = []
                }
                lastRevision = event.kv.modRevision
                ops.append(event.type == .delete ? .delete(.key(rename(event.kv.key)))
                    : .put(rename(event.kv.key), EtcdBytes(event.kv.value)))
                total.add(1, ordering: .relaxed)
            }
            if !ops.isEmpty { _ = try await target.kv.txn(if: [], then: ops) }
        }
    }
}

/// check perf|datascale.
enum CheckCommands {
    struct PerfModel { var limit: Int; var clients: Int; var duration: Int }

    static let perfModels: [String: PerfModel] = [
        "s": .init(limit: 150, clients: 50, duration: 60), "m": .init(limit: 1000, clients: 200, duration: 60),
        "l": .init(limit: 8000, clients: 500, duration: 60), "xl": .init(limit: 15000, clients: 1000, duration: 60),
    ]
    static let aliases = ["s": "s", "small": "s", "m": "m", "medium": "m", "l": "l", "large": "l", "xl": "xl", "xLarge": "xl"]

    static func register(_ app: App) {
        let check = Command("check <subcommand>", short: "commands for checking properties of the etcd cluster")
        let perf = Command("perf [options]", short: "Check the performance of the etcd cluster")
        let load = perf.flags.string("load", nil, "s",
            "The performance check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)")
        let prefix = perf.flags.string("prefix", nil, "/etcdctl-check-perf/", "The prefix for writing the performance check's keys.")
        let autoCompact = perf.flags.bool("auto-compact", nil, false, "Compact storage with last revision after test is finished.")
        let autoDefrag = perf.flags.bool("auto-defrag", nil, false, "Defragment storage after test is finished.")
        perf.run = { invocation in
            guard let name = aliases[load.string], let model = perfModels[name] else {
                exitWithError(.badFeature, "unknown load option \(load.string)")
            }
            let client = await app.client(invocation)
            await runPerf(app, client, model, prefix: prefix.string, compact: autoCompact.bool, defrag: autoDefrag.bool)
        }

        let datascale = Command("datascale [options]",
            short: "Check the memory usage of holding data for different workloads on a given server endpoint.",
            long: "If no endpoint is provided, localhost will be used. If multiple endpoints are provided, first endpoint will be used.")
        let dsLoad = datascale.flags.string("load", nil, "s",
            "The datascale check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)")
        let dsPrefix = datascale.flags.string("prefix", nil, "/etcdctl-check-datascale/", "The prefix for writing the datascale check's keys.")
        let dsCompact = datascale.flags.bool("auto-compact", nil, false, "Compact storage with last revision after test is finished.")
        let dsDefrag = datascale.flags.bool("auto-defrag", nil, false, "Defragment storage after test is finished.")
        datascale.run = { invocation in
            guard let name = aliases[dsLoad.string], let model = datascaleModels[name] else {
                exitWithError(.badFeature, "unknown load option \(dsLoad.string)")
            }
            let client = await app.client(invocation)
            await runDatascale(
                app, client, endpoint: app.endpointList.first ?? "127.0.0.1:2379", model, prefix: dsPrefix.string,
                compact: dsCompact.bool, defrag: dsDefrag.bool)
        }
        check.add(perf, datascale)
        app.root.add(check)
    }

    /// Writes random keys at the model's rate for its duration from many concurrent tasks,
    /// then judges throughput and latency as etcdctl does.
    static func runPerf(_ app: App, _ client: EtcdClient, _ model: PerfModel, prefix: String, compact: Bool, defrag: Bool) async {
        let existing = await app.call { try await client.kv.get(.prefix(EtcdBytes(prefix)), options: GetOptions(limit: 1),
                                                               timeout: .seconds(Int64(model.duration))) }
        if !existing.raw.kvs.isEmpty {
            exitWithError(.invalidInput, "prefix \(GoFormat.quote(prefix)) has keys. Delete with etcdctl del --prefix \(prefix) first")
        }
        let value = EtcdBytes([UInt8](repeating: 0, count: 1024))
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .seconds(Int64(model.duration))
        let interval = Duration.seconds(1) / model.limit
        let progress = Task {
            for second in 1...model.duration {
                try await Task.sleep(for: .seconds(1))
                let done = String(repeating: "o", count: second * 40 / model.duration)
                let left = String(repeating: "m", count: 40 - done.count)
                Out.print("\r \(second) / \(model.duration) B\(done)\(left)! \(second * 100 / model.duration)%")
            }
            Out.print("\n")
        }
        let results = await withTaskGroup(of: [(Double, Bool)].self) { group in
            for worker in 0..<model.clients {
                group.addTask {
                    var samples: [(Double, Bool)] = []
                    var next = start + interval * worker
                    while next < end {
                        try? await Task.sleep(until: next, clock: clock)
                        var key = [UInt8](repeating: 0, count: 256)
                        for i in 0..<8 { key[i] = UInt8.random(in: 0...255) }
                        let began = clock.now
                        let ok = (try? await client.kv.put(EtcdBytes(prefix) + EtcdBytes(key), value)) != nil
                        let took = clock.now - began
                        samples.append((Double(took.components.attoseconds) / 1e18 + Double(took.components.seconds), ok))
                        next = next + interval * model.clients
                    }
                    return samples
                }
            }
            var all: [(Double, Bool)] = []
            for await samples in group { all += samples }
            return all
        }
        _ = await progress.result
        let deleted = await app.call { try await client.kv.delete(.prefix(EtcdBytes(prefix)), timeout: .seconds(30)) }
        await compactAndDefragment(app, client, revision: deleted.header.revision, compact: compact, defrag: defrag)
        let latencies = results.filter(\.1).map(\.0)
        let errors = results.count - latencies.count
        let elapsed = Double(model.duration)
        let rps = Double(latencies.count) / elapsed
        let slowest = latencies.max() ?? 0
        let mean = latencies.isEmpty ? 0 : latencies.reduce(0, +) / Double(latencies.count)
        let stddev = latencies.isEmpty ? 0 : (latencies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(latencies.count)).squareRoot()
        var ok = true
        if errors != 0 {
            Out.line("FAIL: too many errors")
            Out.line("FAIL: ERROR(request failed) -> \(errors)")
            ok = false
        }
        if rps / Double(model.limit) <= 0.9 {
            Out.line("FAIL: Throughput too low: \(Int(rps) + 1) writes/s")
            ok = false
        } else {
            Out.line("PASS: Throughput is \(Int(rps) + 1) writes/s")
        }
        if slowest > 0.5 {
            Out.line(String(format: "Slowest request took too long: %fs", slowest))
            ok = false
        } else {
            Out.line(String(format: "PASS: Slowest request took %fs", slowest))
        }
        if stddev > 0.1 {
            Out.line(String(format: "Stddev too high: %fs", stddev))
            ok = false
        } else {
            Out.line(String(format: "PASS: Stddev is %fs", stddev))
        }
        if ok {
            Out.line("PASS")
        } else {
            Out.line("FAIL")
            exitProcess(.error)
        }
    }
}
