import EtcdProto
import Foundation
import Lease
import Logging
import MVCC
import Raft
import Storage
import WAL

extension EtcdServer {
    /// Starts a member from `config`: a new single-member cluster on an empty data directory,
    /// or a restart from the WAL and backend already there. When this returns, every entry
    /// in the log is applied, the member has published itself and accepts requests.
    public static func start(config: ServerConfig, logger: Logger) throws -> EtcdServer {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: config.memberDirectory, withIntermediateDirectories: true)
        let hasWAL = WAL.exists(directory: config.walDirectory)
        if !hasWAL && fileManager.fileExists(atPath: config.backendPath) {
            throw ConfigError(
                "data dir \(config.dataDirectory) has a backend (\(config.backendPath)) but no WAL in \(config.walDirectory): refusing to start on a half-initialised member; move the data dir away to start fresh")
        }
        try BackendFile.checkIsSwetcd(config.backendPath)

        if hasWAL {
            return try restart(config: config, logger: logger)
        }
        return try bootstrapNew(config: config, logger: logger)
    }

    private static func bootstrapNew(config: ServerConfig, logger: Logger) throws -> EtcdServer {
        guard config.initialClusterStateNew else {
            throw ConfigError("--initial-cluster-state=existing (joining a running cluster) is not supported yet: swetcd runs a single member")
        }
        guard config.initialCluster.count == 1 else {
            throw ConfigError("--initial-cluster names \(config.initialCluster.count) members; swetcd does not support multi-member clusters yet")
        }
        let peerURLs = config.initialAdvertisePeerURLs.map(\.text)
        let memberID = MemberIdentity.memberID(peerURLs: peerURLs, clusterToken: config.initialClusterToken)
        let clusterID = MemberIdentity.clusterID(memberIDs: [memberID])
        logger.info(
            "starting local member",
            metadata: ["local-member-id": "\(MemberIdentity.hex(memberID))", "cluster-id": "\(MemberIdentity.hex(clusterID))"])

        var metadata = Swetcdpb_WALMetadata()
        metadata.memberID = memberID
        metadata.clusterID = clusterID
        let wal = try WAL.create(directory: config.walDirectory, metadata: try metadata.serializedBytes())
        let parts = try openState(config: config, memberID: memberID, clusterID: clusterID, logger: logger)
        let loop = LogLoop(wal: wal, applier: parts.applier, hardState: HardState(), lastIndex: 0, metrics: parts.metrics, logger: logger)

        // The first entry, at term 1, adds the member to the cluster, as etcd's bootstrap does;
        // the member then wins the election for term 2 and opens it with an empty entry.
        let founder = Member(id: memberID, peerURLs: peerURLs)
        loop.beginTerm(1, voteFor: 0)
        try loop.appendAndApply([(.confChange, try MembershipChange.add(founder).entryData)])
        loop.beginTerm(2, voteFor: memberID)
        logger.info("became leader", metadata: ["local-member-id": "\(MemberIdentity.hex(memberID))", "term": "2"])
        logger.info("setting up initial cluster version", metadata: ["cluster-version": "\(ServerVersion.clusterMinor)"])
        var version = Swetcdpb_InternalRequest()
        version.clusterVersion.version = ServerVersion.cluster
        try loop.appendAndApply([
            (.normal, []),
            (.normal, try publishRequest(config: config, memberID: memberID).serializedBytes()),
            (.normal, try version.serializedBytes()),
        ])
        return finish(config: config, memberID: memberID, parts: parts, loop: loop, logger: logger)
    }

    private static func restart(config: ServerConfig, logger: Logger) throws -> EtcdServer {
        let (wal, contents) = try WAL.open(directory: config.walDirectory)
        if let repair = contents.repairedTail {
            logger.warning("repaired torn tail of the WAL", metadata: ["repair": "\(repair)"])
        }
        let metadata = try Swetcdpb_WALMetadata(serializedBytes: contents.metadata)
        let memberID = metadata.memberID
        logger.info(
            "restarting local member",
            metadata: [
                "local-member-id": "\(MemberIdentity.hex(memberID))", "cluster-id": "\(MemberIdentity.hex(metadata.clusterID))",
                "commit-index": "\(contents.hardState.commit)",
            ])
        let parts = try openState(config: config, memberID: memberID, clusterID: metadata.clusterID, logger: logger)
        let lastIndex = contents.entries.last?.index ?? contents.hardState.commit
        let loop = LogLoop(
            wal: wal, applier: parts.applier, hardState: contents.hardState, lastIndex: lastIndex, metrics: parts.metrics,
            logger: logger)
        // Single member: everything in its log was committed the moment it was written.
        try loop.replay(contents.entries)
        let term = contents.hardState.term + 1
        loop.beginTerm(term, voteFor: memberID)
        logger.info("became leader", metadata: ["local-member-id": "\(MemberIdentity.hex(memberID))", "term": "\(term)"])
        try loop.appendAndApply([
            (.normal, []),
            (.normal, try publishRequest(config: config, memberID: memberID).serializedBytes()),
        ])
        return finish(config: config, memberID: memberID, parts: parts, loop: loop, logger: logger)
    }

    private struct State {
        let backend: Backend
        let store: KVStore
        let lessor: Lessor
        let membership: Membership
        let waits: WaitRegistry
        let applier: EntryApplier
        let metrics: ServerMetrics
    }

    private static func openState(config: ServerConfig, memberID: UInt64, clusterID: UInt64, logger: Logger) throws -> State {
        let started = Date()
        let backend = try Backend(path: config.backendPath)
        let lessor = try Lessor(loadingFrom: backend.batch, minTTL: config.minimumLeaseTTL)
        let store = try KVStore(backend: backend, leases: lessor)
        logger.info(
            "opened backend db",
            metadata: ["path": "\(config.backendPath)", "took": "\(formatDuration(Date().timeIntervalSince(started)))"])
        let membership = Membership(clusterID: clusterID)
        try membership.load(from: backend.batch)
        if let version = membership.version {
            logger.info("set cluster version from store", metadata: ["cluster-version": "\(version)"])
            logger.info("enabled capabilities for version", metadata: ["cluster-version": "\(version)"])
        }
        let waits = WaitRegistry()
        let applier = try EntryApplier(
            store: store, backend: backend, membership: membership, lessor: lessor, waits: waits, localMemberID: memberID,
            logger: logger)
        let metrics = ServerMetrics(serverVersion: ServerVersion.server)
        applier.metrics = metrics
        return State(
            backend: backend, store: store, lessor: lessor, membership: membership, waits: waits, applier: applier,
            metrics: metrics)
    }

    private static func publishRequest(config: ServerConfig, memberID: UInt64) -> Swetcdpb_InternalRequest {
        var request = Swetcdpb_InternalRequest()
        request.memberAttributes.memberID = memberID
        request.memberAttributes.name = config.name
        request.memberAttributes.clientUrls = config.advertiseClientURLs.map(\.text)
        return request
    }

    private static func finish(config: ServerConfig, memberID: UInt64, parts: State, loop: LogLoop, logger: Logger) -> EtcdServer {
        // A lone member leads from the start: it keeps lease time, giving every lease its full
        // TTL plus an election timeout, as etcd does on becoming leader.
        parts.lessor.promote(extend: config.electionTimeout)
        loop.start()
        parts.metrics.hasLeader.record(1)
        parts.metrics.isLeader.record(1)
        parts.metrics.leaderChanges.increment()
        let server = EtcdServer(
            config: config, memberID: memberID, membership: parts.membership, store: parts.store, backend: parts.backend,
            lessor: parts.lessor, loop: loop, waits: parts.waits, logger: logger)
        server.startBackgroundTasks()
        return server
    }
}

/// Checks on the backend file before SQLite opens it.
enum BackendFile {
    /// Refuses a backend that is not an SQLite database, e.g. etcd's own bbolt file.
    static func checkIsSwetcd(_ path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        if header.isEmpty { return }
        guard header == Data("SQLite format 3\0".utf8) else {
            throw ConfigError(
                "\(path) is not a swetcd backend (it is not an SQLite database; etcd's bbolt data dirs can't be opened by swetcd — restore an `etcdctl snapshot` into a fresh swetcd instead)")
        }
    }
}
