import EtcdConfiguration
import Storage

/// The backend records which cluster it belongs to, so a database that arrives with a
/// snapshot can be checked to be this cluster's (etcd keeps the ID in the WAL only).
extension Membership {
    private static let clusterIDKey = Array("clusterID".utf8)

    /// The cluster ID the backend recorded, nil in a backend that has none yet.
    static func storedClusterID(_ reader: any BackendReader) throws -> UInt64? {
        guard let bytes = try reader.get(.cluster, clusterIDKey) else { return nil }
        guard bytes.count == 8 else { throw ConfigError("the backend's cluster ID has \(bytes.count) bytes") }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Records this membership's cluster ID in the backend, or checks the one recorded.
    func recordClusterID(in batch: BatchTransaction) throws {
        if let stored = try Self.storedClusterID(batch) {
            guard stored == clusterID else {
                throw ConfigError(
                    "the backend belongs to cluster \(MemberIdentity.hex(stored)), the WAL to cluster \(MemberIdentity.hex(clusterID)): the data dir is damaged")
            }
            return
        }
        try batch.put(.cluster, Self.clusterIDKey, clusterID.bigEndianBytes)
    }
}
