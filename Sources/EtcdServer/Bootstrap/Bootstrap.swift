import Auth
import EtcdConfiguration
import EtcdProto
import Foundation
import Lease
import Logging
import MVCC
import Raft
import Storage
import Transport
import WAL

extension EtcdServer {
    /// Starts a member from `config`: founding a new cluster (`--initial-cluster-state new`),
    /// joining a running one (`existing`), or restarting from the WAL and backend already in
    /// the data directory (then the bootstrap flags are ignored, as in etcd). The member
    /// starts its Raft loop and peer listener; `waitUntilReady()` tells when it published
    /// itself and may serve clients.
    public static func start(config: ServerConfig, logger: Logger) async throws -> EtcdServer {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: config.memberDirectory, withIntermediateDirectories: true)
        let hasWAL = WAL.exists(directory: config.walDirectory)
        if !hasWAL && fileManager.fileExists(atPath: config.backendPath) {
            throw ConfigError(
                "data dir \(config.dataDirectory) has a backend (\(config.backendPath)) but no WAL in \(config.walDirectory): refusing to start on a half-initialised member; move the data dir away to start fresh")
        }
        try BackendFile.checkIsSwetcd(config.backendPath)
        let peerTLS = try PeerTLSSetup.load(config: config, logger: logger)

        let origin: Origin
        if hasWAL {
            origin = try restartOrigin(config: config, logger: logger)
        } else if config.initialClusterStateNew {
            origin = try newClusterOrigin(config: config, logger: logger)
        } else {
            origin = try await joinOrigin(config: config, dialer: peerTLS.dialer, logger: logger)
        }
        return try assemble(config: config, origin: origin, peerTLS: peerTLS, logger: logger)
    }

    /// Where a member's identity and Raft log come from.
    struct Origin {
        var memberID: UInt64
        var clusterID: UInt64
        var wal: WAL
        var storage: MemoryStorage
        /// Founding members bootstrap Raft with these (the conf changes of entries 1...n).
        var bootstrapPeers: [Peer]?
        /// Members to connect to before the backend knows them (founding or joining).
        var knownMembers: [Member]
    }

    private static func restartOrigin(config: ServerConfig, logger: Logger) throws -> Origin {
        let snapshotter = Snapshotter(directory: config.snapshotDirectory)
        let snapshot = try snapshotter.loadNewest { file in
            logger.warning("skipping a damaged snapshot file", metadata: ["file": "\(file)"])
        }
        let (wal, contents) = try WAL.open(
            directory: config.walDirectory, snapshot: snapshot.map { SnapshotMarker($0.metadata) })
        if let repair = contents.repairedTail {
            logger.warning("repaired torn tail of the WAL", metadata: ["repair": "\(repair)"])
        }
        let metadata = try Swetcdpb_WALMetadata(serializedBytes: contents.metadata)
        let storage = MemoryStorage()
        if let snapshot { try storage.applySnapshot(snapshot) }
        storage.setHardState(contents.hardState)
        storage.append(contents.entries)
        logger.info(
            "restarting local member",
            metadata: [
                "local-member-id": "\(MemberIdentity.hex(metadata.memberID))", "cluster-id": "\(MemberIdentity.hex(metadata.clusterID))",
                "commit-index": "\(contents.hardState.commit)", "snapshot-index": "\(snapshot?.metadata.index ?? 0)",
            ])
        return Origin(
            memberID: metadata.memberID, clusterID: metadata.clusterID, wal: wal, storage: storage, bootstrapPeers: nil,
            knownMembers: [])
    }

    private static func newClusterOrigin(config: ServerConfig, logger: Logger) throws -> Origin {
        let members = config.initialCluster.map { entry in
            Member(
                id: MemberIdentity.memberID(peerURLs: entry.peerURLs.map(\.text), clusterToken: config.initialClusterToken),
                peerURLs: entry.peerURLs.map(\.text))
        }
        if Set(members.map(\.id)).count != members.count {
            throw ConfigError("--initial-cluster has members with the same peer URLs: \(config.initialCluster.map(\.name))")
        }
        let memberID = MemberIdentity.memberID(
            peerURLs: config.initialAdvertisePeerURLs.map(\.text), clusterToken: config.initialClusterToken)
        let clusterID = MemberIdentity.clusterID(memberIDs: members.map(\.id))
        logger.info(
            "starting local member",
            metadata: ["local-member-id": "\(MemberIdentity.hex(memberID))", "cluster-id": "\(MemberIdentity.hex(clusterID))"])
        let wal = try WAL.create(directory: config.walDirectory, metadata: try walMetadata(memberID, clusterID))
        let peers = try members.sorted { $0.id < $1.id }.map { Peer(id: $0.id, context: try $0.stored.serializedBytes()) }
        return Origin(
            memberID: memberID, clusterID: clusterID, wal: wal, storage: MemoryStorage(), bootstrapPeers: peers,
            knownMembers: members)
    }

    /// A new member of a running cluster: it learns the membership from the others (it must
    /// have been added with MemberAdd first) and receives the log from the leader.
    private static func joinOrigin(config: ServerConfig, dialer: PeerDialer, logger: Logger) async throws -> Origin {
        let ownURLs = Set(config.initialAdvertisePeerURLs.map(\.text))
        let otherURLs = config.initialCluster.filter { $0.name != config.name }.flatMap(\.peerURLs).map(\.text)
        guard !otherURLs.isEmpty else {
            throw ConfigError("--initial-cluster-state=existing needs the other members' peer URLs in --initial-cluster")
        }
        let fetched: Swetcdpb_MembersResponse
        do {
            fetched = try await PeerTransport.fetchMembers(
                from: otherURLs, joiningWith: config.initialAdvertisePeerURLs.map(\.text), dialer: dialer)
        } catch {
            throw ConfigError("could not get the cluster's members from \(otherURLs): \(error)")
        }
        let members = fetched.members.map(Member.init)
        guard let me = members.first(where: { Set($0.peerURLs) == ownURLs }) else {
            throw ConfigError(
                "member with peer URLs \(ownURLs.sorted()) is not in the existing cluster (members: \(members.map { $0.peerURLs })); add it with `etcdctl member add` first")
        }
        if fetched.removed.contains(me.id) {
            throw ConfigError("the member has been permanently removed from the cluster")
        }
        logger.info(
            "joining existing cluster",
            metadata: ["local-member-id": "\(MemberIdentity.hex(me.id))", "cluster-id": "\(MemberIdentity.hex(fetched.clusterID))"])
        let wal = try WAL.create(directory: config.walDirectory, metadata: try walMetadata(me.id, fetched.clusterID))
        return Origin(
            memberID: me.id, clusterID: fetched.clusterID, wal: wal, storage: MemoryStorage(), bootstrapPeers: nil,
            knownMembers: members)
    }

    private static func walMetadata(_ memberID: UInt64, _ clusterID: UInt64) throws -> [UInt8] {
        var metadata = Swetcdpb_WALMetadata()
        metadata.memberID = memberID
        metadata.clusterID = clusterID
        return try metadata.serializedBytes()
    }

    /// Opens the state machine and builds the member in one pass, each part from the parts
    /// it needs (the inbox and the peer inbound side before the transport, the transport
    /// before the Raft loop, the loop before the server), then starts it.
    private static func assemble(
        config: ServerConfig, origin: Origin, peerTLS: PeerTLSSetup, logger: Logger
    ) throws -> EtcdServer {
        let started = ContinuousClock.now
        let backend = try Backend(path: config.backendPath)
        let lessor = try Lessor(loadingFrom: backend.batch, minTTL: config.minimumLeaseTTL)
        let store = try KVStore(backend: backend, leases: lessor)
        let tokenTTL = Duration.seconds(config.authTokenTTLSeconds == 0 ? 300 : Int64(clamping: config.authTokenTTLSeconds))
        let auth = try AuthStore(loadingFrom: backend.batch, tokenTTL: tokenTTL)
        let tokens = try TokenProvider(flag: config.authToken)
        if !Bcrypt.costs.contains(config.bcryptCost) {
            logger.warning(
                "use default bcrypt cost instead of the invalid given cost",
                metadata: ["min-cost": "\(Bcrypt.costs.lowerBound)", "max-cost": "\(Bcrypt.costs.upperBound)", "default-cost": "\(Bcrypt.defaultCost)", "given-cost": "\(config.bcryptCost)"])
        }
        logger.info(
            "opened backend db",
            metadata: ["path": "\(config.backendPath)", "took": "\(formatDuration(ContinuousClock.now - started))"])
        let membership = Membership(clusterID: origin.clusterID)
        try membership.load(from: backend.batch)
        try membership.recordClusterID(in: backend.batch)
        try backend.commit()
        if let version = membership.version {
            logger.info("set cluster version from store", metadata: ["cluster-version": "\(version)"])
            logger.info("enabled capabilities for version", metadata: ["cluster-version": "\(version)"])
        }
        if membership.isRemoved(origin.memberID) {
            throw ConfigError("the member has been permanently removed from the cluster")
        }
        let waits = WaitRegistry()
        let metrics = ServerMetrics(serverVersion: ServerVersion.server)
        metrics.recordServerID(origin.memberID)
        let applier = try EntryApplier(
            store: store, backend: backend, membership: membership, lessor: lessor, auth: auth, waits: waits,
            localMemberID: origin.memberID, maxLearners: config.maxLearners, metrics: metrics, logger: logger)
        let snapshotIndex = origin.storage.latestSnapshot.metadata.index
        if applier.appliedIndex < snapshotIndex {
            throw ConfigError(
                "the backend (consistent index \(applier.appliedIndex)) is older than the latest snapshot (index \(snapshotIndex)): the data dir is damaged")
        }
        try checkWALCoversBackend(appliedIndex: applier.appliedIndex, walLastIndex: origin.storage.lastIndex(), config: config)

        let electionTicks = max(2, Int(config.electionTimeout / config.heartbeatInterval))
        let raftConfig = Raft.Config(
            id: origin.memberID, electionTick: electionTicks, heartbeatTick: 1, applied: snapshotIndex,
            maxSizePerMsg: 1 << 20, maxInflightMsgs: 512, maxUncommittedEntriesSize: 1 << 30, checkQuorum: true,
            preVote: config.preVote, seed: origin.memberID ^ UInt64(UInt32(truncatingIfNeeded: Date().timeIntervalSince1970.bitPattern)))
        let node = try RawNode(config: raftConfig, storage: origin.storage)
        if let peers = origin.bootstrapPeers { try node.bootstrap(peers: peers) }

        let inbox = RaftInbox()
        let stopRequests = StopRequests()
        let inbound = PeerInbound(
            inbox: inbox, membership: membership, memberID: origin.memberID, snapshotDirectory: config.snapshotDirectory,
            stopRequests: stopRequests, logger: logger)
        let transport = PeerTransport(
            localID: origin.memberID, clusterID: origin.clusterID, handler: inbound, dialer: peerTLS.dialer,
            listenerTLS: peerTLS.listener, logger: logger)
        let raft = RaftNode(
            id: origin.memberID, node: node, storage: origin.storage, wal: origin.wal,
            snapshotter: Snapshotter(directory: config.snapshotDirectory), applier: applier, transport: transport, inbox: inbox,
            lessor: lessor, membership: membership, stopRequests: stopRequests,
            settings: RaftNode.Settings(
                heartbeat: config.heartbeatInterval, electionTicks: electionTicks, electionTimeout: config.electionTimeout,
                snapshotCount: config.snapshotCount, catchUpEntries: config.snapshotCatchUpEntries,
                maxSnapshots: config.maxSnapshots, maxWALs: config.maxWALs),
            metrics: metrics, logger: logger)
        let server = EtcdServer(
            config: config, memberID: origin.memberID, membership: membership, store: store, backend: backend,
            lessor: lessor, auth: auth, tokens: tokens, raft: raft, waits: waits, stopRequests: stopRequests, logger: logger)

        for member in origin.knownMembers + membership.members where member.id != origin.memberID {
            transport.addPeer(member.id, urls: member.peerURLs)
        }
        server.startPeerListeners()
        raft.start()
        let voters = origin.bootstrapPeers?.count ?? membership.members.filter { !$0.isLearner }.count
        if voters == 1 {
            // A lone voter need not wait an election timeout (etcd fast-forwards its ticks).
            raft.campaignSoon()
        }
        server.startBackgroundTasks()
        return server
    }
}

extension EtcdServer {
    /// Entries reach the WAL before they are applied, so a backend that applied past the end
    /// of the WAL (plus snapshot) means the WAL lost its tail: cut short, or segments removed.
    /// Raft would restart from a log without entries this member already acknowledged and
    /// applied, so the member refuses to start instead of running on without ever serving.
    static func checkWALCoversBackend(appliedIndex: UInt64, walLastIndex: UInt64, config: ServerConfig) throws {
        guard appliedIndex > walLastIndex else { return }
        throw ConfigError(
            "the WAL in \(config.walDirectory) ends at index \(walLastIndex) but the backend \(config.backendPath) has applied index \(appliedIndex): "
                + "\(appliedIndex - walLastIndex) entries the member already applied are missing from the WAL (it was truncated or lost segments), "
                + "so it cannot rejoin Raft safely. To recover, restore the data dir from a snapshot or backup (`etcdctl snapshot restore`), "
                + "or remove the member (`etcdctl member remove`) and add it back (`etcdctl member add`) with a fresh, empty data dir.")
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
