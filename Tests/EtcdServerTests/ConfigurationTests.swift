import EtcdConfiguration
import Testing
@testable import EtcdServer

@Suite struct ConfigurationTests {
    func config(_ arguments: [String], environment: [String: String] = [:]) throws -> ServerConfig {
        try ServerConfig(ServerConfig.flags.parse(arguments, environment: environment))
    }

    @Test func defaultsAreEtcds() throws {
        let defaults = try config([])
        #expect(defaults.name == "default")
        #expect(defaults.dataDirectory == "default.etcd")
        #expect(defaults.listenClientURLs.map(\.text) == ["http://localhost:2379"])
        #expect(defaults.initialClusterToken == "etcd-cluster")
        #expect(defaults.maxTxnOps == 128)
        #expect(defaults.maxRequestBytes == 1_572_864)
    }

    @Test func defaultMemberAndClusterIDsMatchEtcd() {
        let member = MemberIdentity.memberID(peerURLs: ["http://localhost:2380"], clusterToken: "etcd-cluster")
        #expect(MemberIdentity.hex(member) == "8e9e05c52164694d")
        #expect(MemberIdentity.hex(MemberIdentity.clusterID(memberIDs: [member])) == "cdf818194e3a8c32")
    }

    @Test func flagSpellingsLikeGo() throws {
        let parsed = try config(["-name", "a", "--data-dir=/tmp/x", "--max-txn-ops", "7", "-max-request-bytes=99"])
        #expect(parsed.name == "a")
        #expect(parsed.dataDirectory == "/tmp/x")
        #expect(parsed.maxTxnOps == 7)
        #expect(parsed.maxRequestBytes == 99)
    }

    /// etcd's flag and variable; unset, swetcd stays bounded instead of etcd's math.MaxUint32.
    @Test func maxConcurrentStreamsIsBoundedUnlessSet() throws {
        #expect(try config([]).maxConcurrentStreams == ServerConfig.defaultMaxConcurrentStreams)
        #expect(try config(["--max-concurrent-streams", "10"]).maxConcurrentStreams == 10)
        #expect(try config([], environment: ["ETCD_MAX_CONCURRENT_STREAMS": "4294967295"]).maxConcurrentStreams == 4_294_967_295)
        let error = #expect(throws: ConfigError.self) { try config(["--max-concurrent-streams", "4294967296"]) }
        #expect(error?.message.contains("--max-concurrent-streams=4294967296") == true)
    }

    @Test func dataDirDefaultsToNameDotEtcd() throws {
        #expect(try config(["--name", "infra1"]).dataDirectory == "infra1.etcd")
    }

    @Test func nonDefaultNameStartsAClusterOfItself() throws {
        let parsed = try config(["--name", "infra1", "--initial-advertise-peer-urls", "http://127.0.0.1:12380"])
        #expect(parsed.initialCluster.count == 1)
        #expect(parsed.initialCluster[0].name == "infra1")
        #expect(parsed.initialCluster[0].peerURLs.map(\.text) == ["http://127.0.0.1:12380"])
    }

    @Test func environmentVariablesAndConflicts() throws {
        #expect(try config([], environment: ["ETCD_NAME": "fromenv"]).name == "fromenv")
        #expect(throws: FlagParser.ParseError.shadowedEnvironment(variable: "ETCD_NAME")) {
            try config(["--name", "x"], environment: ["ETCD_NAME": "y"])
        }
        let values = try ServerConfig.flags.parse([], environment: ["ETCD_BOGUS": "1"])
        #expect(values.unrecognizedEnvironment == ["ETCD_BOGUS=1"])
    }

    @Test func badInputIsAClearError() {
        #expect(throws: FlagParser.ParseError.undefined("foo")) { try config(["--foo"]) }
        #expect(throws: FlagParser.ParseError.missingValue("name")) { try config(["--name"]) }
        #expect(throws: FlagParser.ParseError.invalidValue(flag: "max-txn-ops", value: "abc", reason: "parse error")) {
            try config(["--max-txn-ops", "abc"])
        }
        #expect(throws: ConfigError.self) { try config(["--listen-client-urls", "localhost:2379"]) }
        #expect(throws: ConfigError.self) { try config(["--initial-cluster-state", "maybe"]) }
        #expect(throws: ConfigError.self) {
            try config(["--listen-client-urls", "http://127.0.0.1:1"])  // without --advertise-client-urls
        }
    }

    @Test func urlParsing() throws {
        let url = try ServiceURL("http://127.0.0.1:2379", flag: "x")
        #expect(url.host == "127.0.0.1" && url.port == 2379 && url.hostPort == "127.0.0.1:2379")
        let v6 = try ServiceURL("http://[::1]:2379", flag: "x")
        #expect(v6.host == "::1" && v6.hostPort == "[::1]:2379")
        #expect(throws: ConfigError.self) { try ServiceURL("http://host", flag: "x") }
        #expect(throws: ConfigError.self) { try ServiceURL("unix://x:1", flag: "x") }
    }

    /// An https listener without certificates is refused with etcd's words (it would
    /// otherwise have nothing to serve TLS with).
    @Test func httpsListenersAreRefusedWithEtcdsErrors() throws {
        #expect(throws: ConfigError(
            "TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme")) {
            try config(["--listen-client-urls", "https://127.0.0.1:2379", "--advertise-client-urls", "https://127.0.0.1:2379"])
        }
        #expect(throws: ConfigError(
            "TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2381 with HTTPS scheme")) {
            try config(["--listen-client-http-urls", "https://127.0.0.1:2381"])
        }
        #expect(throws: ConfigError("cannot listen on TLS for 127.0.0.1:2380: KeyFile and CertFile are not presented")) {
            try config(["--listen-peer-urls", "https://127.0.0.1:2380"])
        }
        // Advertising https is not listening on it; etcd accepts it too.
        _ = try config(["--advertise-client-urls", "https://127.0.0.1:2379"])
    }

    /// Numeric flags take any uint64, as Go's do; the largest used to trap on conversion.
    @Test func theLargestNumericFlagsDoNotTrap() throws {
        let max = String(UInt64.max)
        let parsed = try config(["--max-txn-ops", max, "--max-request-bytes", max, "--max-snapshots", max, "--max-wals", max])
        #expect(parsed.maxTxnOps == Int.max && parsed.maxRequestBytes == Int.max && parsed.maxReceivedMessageBytes == Int.max)
        #expect(throws: ConfigError.self) { try config(["--heartbeat-interval", max]) }
    }
}
