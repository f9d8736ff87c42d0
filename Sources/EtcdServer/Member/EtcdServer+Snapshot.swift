import Checksum
import Crypto
import EtcdProto
import Foundation
import Storage

/// Maintenance.Snapshot and Maintenance.Hash: the whole backend, as a file for a backup and
/// as a checksum to compare members by.
extension EtcdServer {
    /// Blob bytes per Snapshot response (etcd's `snapshotSendBufferSize`).
    static let snapshotChunkBytes = 32 * 1024

    /// Sends a point-in-time copy of the backend in chunks, each with the bytes still to
    /// come, then one more message whose blob is the SHA-256 of all of them, as etcd does
    /// (restore checks it). The copy is an SQLite backup that does not block writers, so the
    /// member keeps serving. Root role only.
    public func sendSnapshot(as caller: Credentials, _ send: (Etcdserverpb_SnapshotResponse) async throws -> Void) async throws {
        try await requireAdmin(caller)
        let path = config.snapshotDirectory + "/client-snapshot-\(UUID().uuidString).db"
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            try FileManager.default.createDirectory(atPath: config.snapshotDirectory, withIntermediateDirectories: true)
            try backend.copy(to: path)
        } catch {
            throw EtcdError(.internalError, "etcdserver: could not copy the backend for a snapshot: \(error)")
        }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let total = try handle.seekToEnd()
        try handle.seek(toOffset: 0)
        let started = ContinuousClock.now
        logger.info("sending database snapshot to client", metadata: ["total-bytes": "\(total)"])
        var digest = SHA256()
        var sent: UInt64 = 0
        while sent < total {
            guard let chunk = try handle.read(upToCount: Self.snapshotChunkBytes), !chunk.isEmpty else {
                throw EtcdError(.internalError, "etcdserver: the snapshot copy ended after \(sent) of \(total) bytes")
            }
            sent += UInt64(chunk.count)
            digest.update(data: chunk)
            var response = Etcdserverpb_SnapshotResponse()
            response.remainingBytes = total - sent
            response.blob = chunk
            try await send(response)
        }
        logger.info("sending database sha256 checksum to client", metadata: ["total-bytes": "\(total)", "checksum-size": "32"])
        var checksum = Etcdserverpb_SnapshotResponse()
        checksum.blob = Data(digest.finalize())
        try await send(checksum)
        logger.info(
            "successfully sent database snapshot to client",
            metadata: ["total-bytes": "\(total)", "took": "\(formatDuration(ContinuousClock.now - started))"])
    }

    /// A CRC-32C of every bucket's name and pairs, buckets in name order (etcd's backend
    /// hash): equal on members that applied the same log. The consistent index, which says
    /// how far this member got rather than what it holds, is left out, as etcd leaves it out.
    public func backendHash() throws(EtcdError) -> Etcdserverpb_HashResponse {
        do {
            let hash = try backend.read { transaction in
                var crc: UInt32 = 0
                for bucket in Bucket.all.sorted(by: { $0.name < $1.name }) {
                    crc = Self.crc(crc, Array(bucket.name.utf8))
                    try transaction.forEach(bucket, from: [], to: nil) { key, value in
                        if !(bucket == .meta && Array(key) == EntryApplier.consistentIndexKey) {
                            crc = CRC32C.update(crc, with: key)
                            crc = CRC32C.update(crc, with: value)
                        }
                        return true
                    }
                }
                return crc
            }
            var response = Etcdserverpb_HashResponse()
            response.header = header()
            response.hash = hash
            return response
        } catch {
            throw EtcdError.wrapping(error)
        }
    }

    private static func crc(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { CRC32C.update(crc, with: $0) }
    }
}
