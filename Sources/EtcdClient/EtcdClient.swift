import EtcdProto
import Foundation

/// A client of an etcd cluster (the real etcd or swetcd), speaking etcd's v3 gRPC API.
///
/// One client talks to one endpoint at a time and moves on to the next when it fails; reads
/// and other idempotent requests are retried there, writes only when they surely never left.
/// Every service is a property:
///
/// ```swift
/// let client = try EtcdClient(endpoints: ["127.0.0.1:2379", "127.0.0.1:22379"])
/// try await client.kv.put("greeting", "hello")
/// let value = try await client.kv.get("greeting").value?.string
/// for try await response in client.watch.watch(.prefix("jobs/")) { ... }
/// let lease = try await client.lease.grant(ttl: 10)
/// await client.close()
/// ```
///
/// Close the client when done; calls made afterwards fail with ``EtcdError/Kind/clientClosed``.
public final class EtcdClient: Sendable {
    let pool: ConnectionPool

    /// The configuration the client was made with.
    public var configuration: Configuration { pool.configuration }

    /// Key-value reads and writes, transactions, compaction.
    public let kv: KV
    /// Streams of changes.
    public let watch: Watch
    /// Leases: grant, revoke, keep alive, inspect.
    public let lease: Lease
    /// Members of the cluster.
    public let cluster: Cluster
    /// Status, hashes, alarms, defragmentation, snapshots, leadership transfer.
    public let maintenance: Maintenance
    /// Authentication: users, roles, permissions.
    public let auth: Auth
    /// The server-side lock service (`v3lockpb.Lock`).
    public let lock: LockService
    /// The server-side election service (`v3electionpb.Election`).
    public let election: ElectionService

    /// A client with the given configuration. No connection is made until the first request.
    public init(configuration: Configuration) throws {
        pool = try ConnectionPool(configuration: configuration)
        kv = KV(pool: pool)
        watch = Watch(pool: pool)
        lease = Lease(pool: pool)
        cluster = Cluster(pool: pool)
        maintenance = Maintenance(pool: pool)
        auth = Auth(pool: pool)
        lock = LockService(pool: pool)
        election = ElectionService(pool: pool)
    }

    /// A client of the given endpoints with the default timeouts and no authentication.
    public convenience init(endpoints: [String]) throws {
        try self.init(configuration: Configuration(endpoints: endpoints))
    }

    /// The endpoints, as given.
    public var endpoints: [String] { pool.endpoints.map(\.original) }

    /// Fetches an auth token with the configured credentials now, instead of on the first
    /// request; throws the server's answer (e.g. ``EtcdError/Kind/authFailed``). When
    /// authentication is not enabled on the server it throws ``EtcdError/Kind/authNotEnabled``
    /// and the client works without a token. Does nothing without credentials.
    public func authenticate(timeout: Duration? = nil) async throws {
        try await pool.authenticateNow(timeout: timeout ?? configuration.dialTimeout)
    }

    /// Closes every connection. Running watches and keep-alives end.
    public func close() async {
        await pool.close()
    }
}
