import Checksum
import EtcdClient
import Foundation

/// snapshot save|status|restore.
enum SnapshotCommands {
    static func register(_ app: App) {
        let snapshot = Command("snapshot <subcommand>", short: "Manages etcd node snapshots")

        let save = Command("save <filename>", short: "Stores an etcd node backend snapshot to a given file") { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "snapshot save expects one argument") }
            let path = invocation.args[0]
            let config = app.clientConfiguration(invocation)
            guard config.endpoints.count == 1 else {
                exitWithError(.interrupted,
                    "snapshot must be requested to one selected node, not multiple [\(config.endpoints.joined(separator: " "))]")
            }
            let client = await app.makeClient(config)
            let endpoint = config.endpoints[0]
            let partial = path + ".part"
            zapInfo("snapshot/v3_snapshot.go:119", "created temporary db file", ["path": partial])
            clientInfo("clientv3/maintenance.go:200", "opened snapshot stream; downloading")
            zapInfo("snapshot/v3_snapshot.go:127", "fetching snapshot", ["endpoint": endpoint])
            let start = ContinuousClock.now
            let work = Task { try await client.maintenance.saveSnapshot(to: path, endpoint: endpoint) }
            if app.commandTimeout.changed {
                let limit = app.commandTimeoutDuration
                Task {
                    try? await Task.sleep(for: limit)
                    work.cancel()
                }
            }
            let size: Int
            do {
                size = try await work.value
            } catch {
                if error.isCancellation { exitWithError(.interrupted, "context deadline exceeded") }
                let detail = (error as? EtcdError)?.grpcDescription ?? "\(error)"
                Out.errLine("{\"level\":\"warn\",\"ts\":\"\(App.zapTime())\",\"caller\":\"clientv3/maintenance.go:210\","
                    + "\"msg\":\"failed to receive from snapshot stream; closing\",\"error\":\(GoFormat.jsonString(detail))}")
                exitWithError(.interrupted, error)
            }
            let took = ContinuousClock.now - start
            let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
            clientInfo("clientv3/maintenance.go:208", "completed snapshot read; closing")
            zapInfo("snapshot/v3_snapshot.go:142", "fetched snapshot",
                    ["endpoint": endpoint, "size": GoFormat.humanizeBytes(UInt64(size))], took: seconds)
            zapInfo("snapshot/v3_snapshot.go:152", "saved", ["path": path])
            Out.line("Snapshot saved at \(path)")
        }

        let status = Command("status <filename>", short: "Gets backend snapshot status of a given file", long: """
            When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
            The items in the lists are hash, revision, total keys, total size.

            """) { invocation in
            guard invocation.args.count == 1 else { exitWithError(.badArgs, "snapshot status requires exactly one argument") }
            app.initDisplay()
            do {
                app.display.dbStatus(try BoltFile.status(path: invocation.args[0]))
            } catch {
                exitWithError(.error, error)
            }
        }

        let restore = Command("restore <filename> [options]", short: "Restores an etcd member snapshot to an etcd directory")
        _ = restore.flags.string("data-dir", nil, "", "Path to the data directory")
        _ = restore.flags.string("wal-dir", nil, "", "Path to the WAL directory (use --data-dir if none given)")
        _ = restore.flags.string("initial-cluster", nil, "default=http://localhost:2380",
                                 "Initial cluster configuration for restore bootstrap")
        _ = restore.flags.string("initial-cluster-token", nil, "etcd-cluster",
                                 "Initial cluster token for the etcd cluster during restore bootstrap")
        _ = restore.flags.string("initial-advertise-peer-urls", nil, "http://localhost:2380",
                                 "List of this member's peer URLs to advertise to the rest of the cluster")
        _ = restore.flags.string("name", nil, "default", "Human-readable name for this member")
        _ = restore.flags.bool("skip-hash-check", nil, false,
                               "Ignore snapshot integrity hash value (required if copied from data directory)")
        restore.run = { invocation in
            guard invocation.args.count == 1 else {
                exitWithError(.badArgs, "snapshot restore requires exactly one argument")
            }
            let path = invocation.args[0]
            if !FileManager.default.fileExists(atPath: path) {
                exitWithError(.error, "stat \(path): no such file or directory")
            }
            exitWithError(.error, "snapshot restore is not supported by swetcdctl: it would have to write etcd's "
                + "WAL and bbolt files (use etcdctl 3.4 to restore an etcd snapshot)")
        }

        snapshot.add(save, restore, status)
        app.root.add(snapshot)
    }

    /// An info line of etcd's client logger (ISO time).
    static func clientInfo(_ caller: String, _ message: String) {
        Out.errLine("{\"level\":\"info\",\"ts\":\"\(App.zapTime())\",\"caller\":\"\(caller)\",\"msg\":\(GoFormat.jsonString(message))}")
    }

    /// A zap production-style info line (as etcd's snapshot code logs to stderr).
    static func zapInfo(_ caller: String, _ message: String, _ fields: KeyValuePairs<String, String>, took: Double? = nil) {
        let ts = String(format: "%.9f", Date().timeIntervalSince1970)
        var line = "{\"level\":\"info\",\"ts\":\(ts),\"caller\":\"\(caller)\",\"msg\":\(GoFormat.jsonString(message))"
        for (name, value) in fields { line += ",\"\(name)\":\(GoFormat.jsonString(value))" }
        if let took { line += ",\"took\":\(String(format: "%.9f", took))" }
        Out.errLine(line + "}")
    }
}

extension Error {
    var isCancellation: Bool {
        self is CancellationError || (self as? EtcdError)?.kind == .canceled
    }
}

/// A read-only reader of bbolt database files (etcd's backend, and its snapshots), enough for
/// `snapshot status`: walks every bucket in key order.
struct BoltFile {
    let data: [UInt8]
    let pageSize: Int
    let rootPage: UInt64
    let highWater: UInt64

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(path: String) throws {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "open \(path): no such file or directory")
        }
        data = [UInt8](contents)
        guard data.count >= 4096 else { throw Failure(description: "file size too small") }
        // Two meta pages; the valid one with the higher transaction ID wins.
        var best: (txid: UInt64, pageSize: Int, root: UInt64, pgid: UInt64)?
        for candidate in 0..<2 {
            let probeSize = candidate == 0 ? 0 : (best?.pageSize ?? Int(Self.u32(data, 16 + 8)))
            let base = candidate * probeSize + 16
            guard base + 64 <= data.count, Self.u32(data, base) == 0xED0C_DAED, Self.u32(data, base + 4) == 2 else {
                continue
            }
            let size = Int(Self.u32(data, base + 8))
            let root = Self.u64(data, base + 16)
            let pgid = Self.u64(data, base + 40)
            let txid = Self.u64(data, base + 48)
            if best == nil || txid > best!.txid { best = (txid, size, root, pgid) }
        }
        guard let meta = best else { throw Failure(description: "invalid database") }
        pageSize = meta.pageSize
        rootPage = meta.root
        highWater = meta.pgid
    }

    static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    static func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) } }
    static func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }

    /// Every (key, value, isBucket) of the B+tree rooted at page `page` (or an inline page at
    /// `inline` offset), in key order.
    func entries(page: UInt64, inline: (bytes: [UInt8], offset: Int)? = nil) throws -> [([UInt8], [UInt8], Bool)] {
        let bytes: [UInt8]
        let base: Int
        if let inline {
            bytes = inline.bytes
            base = inline.offset
        } else {
            bytes = data
            base = Int(page) * pageSize
            guard base + 16 <= data.count else { throw Failure(description: "page \(page) out of range") }
        }
        let flags = Self.u16(bytes, base + 8)
        let count = Int(Self.u16(bytes, base + 10))
        var result: [([UInt8], [UInt8], Bool)] = []
        for index in 0..<count {
            let element = base + 16 + index * 16
            if flags & 0x01 != 0 {
                let position = Int(Self.u32(bytes, element))
                let child = Self.u64(bytes, element + 8)
                _ = position
                result += try entries(page: child)
            } else if flags & 0x02 != 0 {
                let elementFlags = Self.u32(bytes, element)
                let position = Int(Self.u32(bytes, element + 4))
                let keySize = Int(Self.u32(bytes, element + 8))
                let valueSize = Int(Self.u32(bytes, element + 12))
                let keyStart = element + position
                let key = Array(bytes[keyStart..<keyStart + keySize])
                let value = Array(bytes[keyStart + keySize..<keyStart + keySize + valueSize])
                result.append((key, value, elementFlags & 0x01 != 0))
            } else {
                throw Failure(description: "invalid page type \(flags) at page \(page)")
            }
        }
        return result
    }

    /// The key-value pairs of a bucket given its bucket header value.
    func bucket(_ header: [UInt8]) throws -> [([UInt8], [UInt8], Bool)] {
        let root = Self.u64(header, 0)
        if root == 0 { return try entries(page: 0, inline: (header, 16)) }
        return try entries(page: root)
    }

    /// etcd's snapshot status: CRC-32C over bucket names, keys and values, the revision of the
    /// last key of the `key` bucket, the number of keys and the file's size.
    static func status(path: String) throws -> SnapshotStatus {
        guard FileManager.default.fileExists(atPath: path) else {
            throw Failure(description: "stat \(path): no such file or directory")
        }
        let file = try BoltFile(path: path)
        var crc: UInt32 = 0
        var revision: Int64 = 0
        var keys = 0
        for (name, header, isBucket) in try file.entries(page: file.rootPage) {
            guard isBucket else { throw Failure(description: "cannot get hash of bucket \(String(decoding: name, as: UTF8.self))") }
            crc = name.withUnsafeBytes { CRC32C.update(crc, with: $0) }
            let isKeyBucket = name == Array("key".utf8)
            for (key, value, nested) in try file.bucket(header) {
                crc = key.withUnsafeBytes { CRC32C.update(crc, with: $0) }
                if !nested { crc = value.withUnsafeBytes { CRC32C.update(crc, with: $0) } }
                if isKeyBucket && key.count >= 8 {
                    revision = Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(key[$1]) })
                }
                keys += 1
            }
        }
        return SnapshotStatus(hash: crc, revision: revision, totalKey: keys,
                              totalSize: Int64(file.highWater) * Int64(file.pageSize))
    }
}
