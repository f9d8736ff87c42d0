/// Everything a member is started with, parsed and validated from etcd's flags.
public struct ServerConfig: Sendable {
    /// The member's name (`--name`).
    public var name = "default"
    /// The data directory (`--data-dir`, default `<name>.etcd`).
    public var dataDirectory = "default.etcd"
    /// URLs serving clients (`--listen-client-urls`).
    public var listenClientURLs: [ServiceURL]
    /// The client URLs told to the cluster and clients (`--advertise-client-urls`).
    public var advertiseClientURLs: [ServiceURL]
    /// URLs serving only HTTP (etcd's `--listen-client-http-urls`).
    public var listenClientHTTPURLs: [ServiceURL] = []
    /// URLs serving only `/metrics` and `/health` (`--listen-metrics-urls`).
    public var listenMetricsURLs: [ServiceURL] = []
    /// URLs serving the other members (`--listen-peer-urls`).
    public var listenPeerURLs: [ServiceURL]
    /// This member's peer URLs as the others reach it (`--initial-advertise-peer-urls`).
    public var initialAdvertisePeerURLs: [ServiceURL]
    /// name → peer URLs of every member the cluster starts with.
    public var initialCluster: [(name: String, peerURLs: [ServiceURL])]
    /// The token that makes cluster and member IDs unique (`--initial-cluster-token`).
    public var initialClusterToken = "etcd-cluster"
    /// Whether the member starts a new cluster (`--initial-cluster-state=new`) or joins one.
    public var initialClusterStateNew = true
    /// The most operations a txn may have (`--max-txn-ops`).
    public var maxTxnOps = 128
    /// The largest request accepted, in bytes (`--max-request-bytes`).
    public var maxRequestBytes = 1_572_864
    /// Largest gRPC request message accepted: `maxRequestBytes` plus 512 KiB of gRPC
    /// overhead, as etcd sets its gRPC server's `MaxRecvMsgSize`.
    public var maxReceivedMessageBytes: Int {
        let (sum, overflow) = maxRequestBytes.addingReportingOverflow(512 * 1024)
        return overflow ? .max : sum
    }
    /// Concurrent HTTP/2 streams per client connection. etcd's default is unlimited
    /// (math.MaxUint32); swetcd stays bounded unless the flag is given.
    public var maxConcurrentStreams = ServerConfig.defaultMaxConcurrentStreams
    /// The effective `--max-concurrent-streams` when the flag is not set.
    public static let defaultMaxConcurrentStreams = 100
    /// The log level (`--log-level`).
    public var logLevel = "info"
    /// The client port's TLS (`--cert-file`, `--client-cert-auth`, ...).
    public var clientTLS = TLSSettings()
    /// The peer port's TLS (`--peer-cert-file`, `--peer-client-cert-auth`, ...).
    public var peerTLS = TLSSettings()
    /// Cipher suites, protocol versions and generated certificates' validity, for both ports.
    public var tlsPolicy = TLSPolicy()
    /// `--auto-compaction-mode` and `--auto-compaction-retention`; nil: no auto-compaction.
    public var autoCompaction: AutoCompaction?
    /// `--auth-token`: `simple`, or `jwt,` and the JWT options.
    public var authToken = "simple"
    /// `--auth-token-ttl`: seconds a simple token lives unused (0: etcd's 300).
    public var authTokenTTLSeconds: UInt64 = 300
    /// `--bcrypt-cost` for new password hashes.
    public var bcryptCost = 10
    /// How often watchers that asked for progress notifications get one when idle.
    public var watchProgressNotifyInterval: Duration = .seconds(600)

    /// Defaults identical to etcd's.
    public init() {
        let client = try! ServiceURL("http://localhost:2379", flag: "listen-client-urls")
        let peer = try! ServiceURL("http://localhost:2380", flag: "listen-peer-urls")
        listenClientURLs = [client]
        advertiseClientURLs = [client]
        listenPeerURLs = [peer]
        initialAdvertisePeerURLs = [peer]
        initialCluster = [("default", [peer])]
    }

    /// The flags `swetcd` accepts, with etcd's names and defaults.
    public static let flags = FlagParser(flags: [
        .init("name", default: "default", usage: "Human-readable name for this member."),
        .init("data-dir", usage: "Path to the data directory (default ${name}.etcd)."),
        .init("listen-client-urls", default: "http://localhost:2379", usage: "List of URLs to listen on for client traffic."),
        .init("advertise-client-urls", default: "http://localhost:2379", usage: "List of this member's client URLs to advertise to the public."),
        .init(
            "listen-client-http-urls",
            usage: "List of URLs to listen on for HTTP requests only (the gateway, /health...), no gRPC."),
        .init("listen-metrics-urls", usage: "List of URLs to listen on for the metrics and health endpoints."),
        .init("listen-peer-urls", default: "http://localhost:2380", usage: "List of URLs to listen on for peer traffic."),
        .init("initial-advertise-peer-urls", default: "http://localhost:2380", usage: "List of this member's peer URLs to advertise to the rest of the cluster."),
        .init("initial-cluster", default: "default=http://localhost:2380", usage: "Initial cluster configuration for bootstrapping."),
        .init("initial-cluster-token", default: "etcd-cluster", usage: "Initial cluster token for the etcd cluster during bootstrap."),
        .init("initial-cluster-state", default: "new", usage: "Initial cluster state ('new' or 'existing')."),
        .init("heartbeat-interval", default: "100", usage: "Time (in milliseconds) of a heartbeat interval."),
        .init("election-timeout", default: "1000", usage: "Time (in milliseconds) for an election to timeout."),
        .init("snapshot-count", default: "100000", usage: "Number of committed transactions to trigger a snapshot to disk."),
        .init(
            "experimental-snapshot-catchup-entries", default: "5000",
            usage: "Number of entries for a slow follower to catch up after compacting the raft storage entries."),
        .init(
            "max-learners", default: "1",
            usage: "Sets the maximum number of learners that can be available in the cluster membership."),
        .init("max-snapshots", default: "5", usage: "Maximum number of snapshot files to retain (0 is unlimited)."),
        .init("max-wals", default: "5", usage: "Maximum number of wal files to retain (0 is unlimited)."),
        .init("pre-vote", default: "true", isBoolean: true, usage: "Enable to run an additional Raft election phase."),
        .init(
            "strict-reconfig-check", default: "true", isBoolean: true,
            usage: "Reject reconfiguration requests that would cause quorum loss."),
        .init("max-txn-ops", default: "128", usage: "Maximum number of operations permitted in a transaction."),
        .init("max-request-bytes", default: "1572864", usage: "Maximum client request size in bytes the server will accept."),
        .init(
            "max-concurrent-streams", default: "4294967295",
            usage: "Maximum concurrent streams that each client can open at a time (swetcd uses 100 unless this is set)."),
        .init(
            "experimental-watch-progress-notify-interval", default: "10m0s",
            usage: "Duration of periodic watch progress notifications."),
    ] + renamedFlagDefinitions + tlsFlags + authFlags + compactionFlags + [
        .init("log-level", default: "info", usage: "Configures log level. Only supports debug, info, warn, error, panic, or fatal."),
        .init("version", isBoolean: true, usage: "Print the version and exit."),
        .init("help", isBoolean: true, usage: "Show this help and exit."),
    ])

    /// Builds a configuration from parsed flags, validating it the way etcd does.
    public init(_ values: FlagParser.Values) throws {
        self.init()
        name = values.string("name")
        dataDirectory = values.isSet("data-dir") ? values.string("data-dir") : "\(name).etcd"
        listenClientURLs = try ServiceURL.list(values.string("listen-client-urls"), flag: "listen-client-urls")
        advertiseClientURLs = try ServiceURL.list(values.string("advertise-client-urls"), flag: "advertise-client-urls")
        listenClientHTTPURLs = try ServiceURL.list(values.string("listen-client-http-urls"), flag: "listen-client-http-urls")
        listenMetricsURLs = try ServiceURL.list(values.string("listen-metrics-urls"), flag: "listen-metrics-urls")
        listenPeerURLs = try ServiceURL.list(values.string("listen-peer-urls"), flag: "listen-peer-urls")
        initialAdvertisePeerURLs = try ServiceURL.list(values.string("initial-advertise-peer-urls"), flag: "initial-advertise-peer-urls")
        initialClusterToken = values.string("initial-cluster-token")
        switch values.string("initial-cluster-state") {
        case "new": initialClusterStateNew = true
        case "existing": initialClusterStateNew = false
        case let other: throw ConfigError("unexpected clusterState \"\(other)\" (--initial-cluster-state must be new or existing)")
        }
        let heartbeat = try values.unsigned("heartbeat-interval")
        let election = try values.unsigned("election-timeout")
        guard heartbeat > 0 else { throw ConfigError("--heartbeat-interval must be >0 (set to \(heartbeat)ms)") }
        guard election > 0 else { throw ConfigError("--election-timeout must be >0 (set to \(election)ms)") }
        guard heartbeat <= election / 5 else {
            throw ConfigError("--election-timeout[\(election)ms] should be at least as 5 times as --heartbeat-interval[\(heartbeat)ms]")
        }
        guard election <= 50000 else {
            throw ConfigError("--election-timeout[\(election)ms] is too long, and should be set less than 50000ms")
        }
        heartbeatInterval = .milliseconds(Int64(heartbeat))
        electionTimeout = .milliseconds(Int64(election))
        snapshotCount = try values.unsigned("snapshot-count")
        let catchUp = try renamedValue(values, new: "snapshot-catchup-entries")
        guard let catchUpEntries = UInt64(catchUp) else {
            throw FlagParser.ParseError.invalidValue(flag: "snapshot-catchup-entries", value: catchUp, reason: "parse error")
        }
        snapshotCatchUpEntries = catchUpEntries
        maxSnapshots = Int(clamping: try values.unsigned("max-snapshots"))
        if values.isSet("max-snapshots") {
            deprecationWarnings.append("--max-snapshots is deprecated in 3.6 and will be decommissioned in 3.8.")
        }
        maxWALs = Int(clamping: try values.unsigned("max-wals"))
        preVote = values.bool("pre-vote")
        strictReconfigCheck = values.bool("strict-reconfig-check")
        maxTxnOps = Int(clamping: try values.unsigned("max-txn-ops"))
        maxRequestBytes = Int(clamping: try values.unsigned("max-request-bytes"))
        if values.isSet("max-concurrent-streams") {
            let streams = try values.unsigned("max-concurrent-streams")
            guard streams <= UInt64(UInt32.max) else {
                throw ConfigError("--max-concurrent-streams=\(streams) is larger than the largest HTTP/2 setting (\(UInt32.max))")
            }
            maxConcurrentStreams = Int(streams)
        }
        watchProgressNotifyInterval = try GoDuration.parse(
            try renamedValue(values, new: "watch-progress-notify-interval"), flag: "watch-progress-notify-interval")
        maxLearners = Int(clamping: try values.unsigned("max-learners"))
        logLevel = values.string("log-level")
        guard ["debug", "info", "warn", "error", "dpanic", "panic", "fatal"].contains(logLevel) else {
            throw ConfigError("unknown log level \"\(logLevel)\" (--log-level takes debug, info, warn, error, panic or fatal)")
        }
        if listenClientURLs.isEmpty { throw ConfigError("--listen-client-urls must name at least one URL") }
        try parseTLS(values)
        try parseAuth(values)
        try parseCompaction(values)
        if values.isSet("listen-client-urls") && !values.isSet("advertise-client-urls") {
            throw ConfigError("--advertise-client-urls is required when --listen-client-urls is set explicitly")
        }

        // Like etcd: a member not called "default" with the default --initial-cluster starts
        // a cluster of itself at its advertised peer URLs.
        var clusterText = values.string("initial-cluster")
        if name != "default" && !values.isSet("initial-cluster") {
            clusterText = initialAdvertisePeerURLs.map { "\(name)=\($0.text)" }.joined(separator: ",")
        }
        initialCluster = try Self.parseInitialCluster(clusterText)
        let ownURLs = initialCluster.filter { $0.name == name }.flatMap(\.peerURLs)
        guard !ownURLs.isEmpty else {
            throw ConfigError("couldn't find local name \"\(name)\" in the initial cluster configuration (--initial-cluster=\(clusterText))")
        }
        if Set(ownURLs.map(\.text)) != Set(initialAdvertisePeerURLs.map(\.text)) {
            throw ConfigError(
                "--initial-cluster has \(name)=\(ownURLs.map(\.text).sorted().joined(separator: ",")) but missing from --initial-advertise-peer-urls=\(initialAdvertisePeerURLs.map(\.text).joined(separator: ","))")
        }
    }

    /// Parses `name1=url1,name2=url2,...` (a name may appear with several URLs).
    static func parseInitialCluster(_ text: String) throws -> [(name: String, peerURLs: [ServiceURL])] {
        var order: [String] = []
        var urls: [String: [ServiceURL]] = [:]
        for part in text.split(separator: ",") {
            guard let equals = part.firstIndex(of: "=") else {
                throw ConfigError("--initial-cluster: \"\(part)\" is not name=URL")
            }
            let memberName = String(part[..<equals])
            let url = try ServiceURL(String(part[part.index(after: equals)...]), flag: "initial-cluster")
            if urls[memberName] == nil { order.append(memberName) }
            urls[memberName, default: []].append(url)
        }
        return order.map { ($0, urls[$0]!) }
    }

    /// Applied entries between snapshots (`--snapshot-count`).
    public var snapshotCount: UInt64 = 100_000
    /// Learners the membership may hold at once (`--max-learners`, etcd 3.6).
    public var maxLearners = 1
    /// Warnings about deprecated flag names that were used, for the log (etcd 3.6's words).
    public var deprecationWarnings: [String] = []
    /// Log entries kept behind a snapshot for slow followers (`--snapshot-catchup-entries`).
    public var snapshotCatchUpEntries: UInt64 = 5000
    /// Snapshot files kept (`--max-snapshots`; 0 keeps all).
    public var maxSnapshots = 5
    /// WAL segments kept (`--max-wals`; 0 keeps all).
    public var maxWALs = 5
    /// Raft pre-vote (`--pre-vote`).
    public var preVote = true
    /// Refuse membership changes that would lose quorum (`--strict-reconfig-check`).
    public var strictReconfigCheck = true

    /// Raft heartbeat interval (etcd's `--heartbeat-interval`, 100 ms).
    public var heartbeatInterval: Duration = .milliseconds(100)
    /// Raft election timeout (etcd's `--election-timeout`, 1000 ms).
    public var electionTimeout: Duration = .milliseconds(1000)

    /// The shortest lease TTL granted: 1.5 election timeouts, rounded up to whole seconds.
    public var minimumLeaseTTL: Int64 {
        let milliseconds = electionTimeout.components.seconds * 1000 + electionTimeout.components.attoseconds / 1_000_000_000_000_000
        return (milliseconds * 3 / 2 + 999) / 1000
    }

    /// This member's directory of WAL and backend files.
    public var memberDirectory: String { dataDirectory + "/member" }
    /// The WAL segments' directory.
    public var walDirectory: String { memberDirectory + "/wal" }
    /// The backend database file.
    public var backendPath: String { memberDirectory + "/snap/db" }
    /// The snapshot files' directory.
    public var snapshotDirectory: String { memberDirectory + "/snap" }
}
