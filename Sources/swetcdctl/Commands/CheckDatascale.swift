import EtcdClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `check datascale`: writes the model's key-value pairs from many clients and reports how
/// much the first endpoint's resident memory grew, read from its `/metrics` as etcdctl does.
extension CheckCommands {
    struct DatascaleModel { var limit: Int; var kvSize: Int; var clients: Int }

    static let datascaleModels: [String: DatascaleModel] = [
        "s": .init(limit: 10_000, kvSize: 1024, clients: 50), "m": .init(limit: 100_000, kvSize: 1024, clients: 200),
        "l": .init(limit: 1_000_000, kvSize: 1024, clients: 500), "xl": .init(limit: 3_000_000, kvSize: 1000, clients: 1000),
    ]

    static func runDatascale(
        _ app: App, _ client: EtcdClient, endpoint: String, _ model: DatascaleModel, prefix: String, compact: Bool, defrag: Bool
    ) async {
        let existing = await app.call { try await client.kv.get(.prefix(EtcdBytes(prefix)), options: GetOptions(limit: 1)) }
        if !existing.raw.kvs.isEmpty {
            exitWithError(.invalidInput, "prefix \(GoFormat.quote(prefix)) has keys. Delete with etcdctl del --prefix \(prefix) first")
        }
        guard let before = await residentMemory(of: endpoint) else {
            Out.line("FAIL: Could not read process_resident_memory_bytes before the put operations.")
            exitProcess(.error)
        }
        Out.line("Start data scale check for work load [\(model.limit) key-value pairs, \(model.kvSize) bytes per key-value, \(model.clients) concurrent clients].")
        // etcdctl's pairs: a 512-byte key (a random varint, zero-padded) and 512 zero bytes.
        let value = EtcdBytes([UInt8](repeating: 0, count: 512))
        let failures = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<model.clients {
                group.addTask {
                    var failed = 0
                    for _ in stride(from: worker, to: model.limit, by: model.clients) {
                        var key = [UInt8](repeating: 0, count: 512)
                        var number = UInt64.random(in: 0..<UInt64(Int64.max)) << 1
                        var index = 0
                        while number >= 0x80 {
                            key[index] = UInt8(truncatingIfNeeded: number) | 0x80
                            number >>= 7
                            index += 1
                        }
                        key[index] = UInt8(number)
                        if (try? await client.kv.put(EtcdBytes(prefix) + EtcdBytes(key), value)) == nil { failed += 1 }
                    }
                    return failed
                }
            }
            return await group.reduce(0, +)
        }
        Out.line("\(model.limit) / \(model.limit) 100.00%")
        guard let after = await residentMemory(of: endpoint) else {
            Out.line("FAIL: Could not read process_resident_memory_bytes after the put operations.")
            exitProcess(.error)
        }
        let deleted = await app.call { try await client.kv.delete(.prefix(EtcdBytes(prefix)), timeout: .seconds(30)) }
        await compactAndDefragment(app, client, revision: deleted.header.revision, compact: compact, defrag: defrag)
        if failures != 0 {
            Out.line("FAIL: too many errors")
            Out.line("FAIL: ERROR(request failed) -> \(failures)")
            exitProcess(.error)
        }
        Out.line("PASS: Approximate system memory used : \(String(format: "%.2f", (after - before) / (1024 * 1024))) MB.")
    }

    /// What `--auto-compact` and `--auto-defrag` ask for once a check deleted its keys.
    static func compactAndDefragment(_ app: App, _ client: EtcdClient, revision: Int64, compact: Bool, defrag: Bool) async {
        if compact {
            Out.line("Compacting with revision \(revision)")
            _ = await app.call { try await client.kv.compact(revision, physical: true, timeout: .seconds(30)) }
            Out.line("Compacted with revision \(revision)")
        }
        if defrag {
            for endpoint in client.endpoints {
                Out.line("Defragmenting \(GoFormat.quote(endpoint))")
                _ = await app.call { try await client.maintenance.defragment(endpoint: endpoint, timeout: .seconds(30)) }
                Out.line("Defragmented \(GoFormat.quote(endpoint))")
            }
        }
    }

    /// `process_resident_memory_bytes` from `endpoint`'s `/metrics`; nil (after saying why,
    /// as etcdctl does) when it cannot be read.
    static func residentMemory(of endpoint: String) async -> Double? {
        let base = endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") ? endpoint : "http://" + endpoint
        guard let url = URL(string: base + "/metrics") else { return nil }
        let body: String
        do {
            let (data, _) = try await URLSession.shared.data(from: url)
            body = String(decoding: data, as: UTF8.self)
        } catch {
            Out.line("fetch error: \(error.localizedDescription)")
            return nil
        }
        let name = "process_resident_memory_bytes"
        guard let line = body.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else {
            Out.line("could not find: \(name)")
            return nil
        }
        return Double(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces))
    }
}
