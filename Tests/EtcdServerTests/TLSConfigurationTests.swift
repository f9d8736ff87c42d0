import EtcdConfiguration
import Testing

/// etcd's TLS flags: what they set, and the errors etcd gives for the combinations it refuses.
@Suite struct TLSConfigurationTests {
    func config(_ arguments: [String]) throws -> ServerConfig {
        try ServerConfig(ServerConfig.flags.parse(arguments, environment: [:]))
    }

    @Test func clientFlagsFillTheClientSettings() throws {
        let parsed = try config([
            "--listen-client-urls", "https://127.0.0.1:2379", "--advertise-client-urls", "https://127.0.0.1:2379",
            "--cert-file", "s.crt", "--key-file", "s.key", "--trusted-ca-file", "ca.crt", "--client-crl-file", "x.crl",
        ])
        #expect(parsed.clientTLS.certFile == "s.crt" && parsed.clientTLS.keyFile == "s.key")
        #expect(parsed.clientTLS.crlFile == "x.crl")
        // As in etcd, a trusted CA alone asks clients for certificates.
        #expect(!parsed.clientTLS.clientCertAuth && parsed.clientTLS.requiresClientCertificate)
        #expect(parsed.tlsPolicy.minimumVersion == .tls12 && parsed.tlsPolicy.maximumVersion == nil)
    }

    @Test func autoTLSServesHTTPSWithoutFiles() throws {
        let parsed = try config([
            "--listen-client-urls", "https://127.0.0.1:2379", "--advertise-client-urls", "https://127.0.0.1:2379", "--auto-tls",
        ])
        #expect(parsed.clientTLS.autoTLS && !parsed.clientTLS.hasCertificate)
    }

    @Test func etcdsErrorsForRefusedCombinations() throws {
        #expect(throws: ConfigError("KeyFile and CertFile must both be present[key: , cert: s.crt]")) {
            try config(["--cert-file", "s.crt"])
        }
        #expect(throws: ConfigError("unexpected TLS version \"TLS1.1\" (must be one of: TLS1.2, TLS1.3)")) {
            try config(["--tls-min-version", "TLS1.1"])
        }
        #expect(throws: ConfigError("min version (TLS1.3) is greater than max version (TLS1.2)")) {
            try config(["--tls-min-version", "TLS1.3", "--tls-max-version", "TLS1.2"])
        }
        #expect(throws: ConfigError("cipher suites cannot be configured when only TLS1.3 is enabled")) {
            try config(["--tls-min-version", "TLS1.3", "--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])
        }
        #expect(throws: ConfigError("unexpected TLS cipher suite \"TLS_FOO\"")) {
            try config(["--cipher-suites", "TLS_FOO"])
        }
        #expect(throws: ConfigError("AllowedCNs and AllowedHostnames are mutually exclusive (cns=[\"a\"], hostnames=[\"h\"])")) {
            try config(["--peer-cert-allowed-cn", "a", "--peer-cert-allowed-hostname", "h"])
        }
    }

    /// Metrics listeners and allowed client host names, with etcd 3.6's error for an https
    /// metrics URL without a client certificate.
    @Test func metricsURLsAndAllowedClientHostnames() throws {
        #expect(throws: ConfigError("client TLS key/cert (--cert-file, --key-file) must be provided for metrics secure url")) {
            try config(["--listen-metrics-urls", "https://127.0.0.1:2381"])
        }
        let parsed = try config([
            "--listen-metrics-urls", "http://127.0.0.1:2381,https://127.0.0.1:2382", "--cert-file", "s.crt", "--key-file", "s.key",
            "--client-cert-allowed-hostname", "a.example,b.example",
        ])
        #expect(parsed.listenMetricsURLs.map(\.text) == ["http://127.0.0.1:2381", "https://127.0.0.1:2382"])
        #expect(parsed.clientTLS.allowedHostnames == ["a.example", "b.example"])
    }

    /// etcd 3.6's names for the `--experimental-*` flags: either name works (the old one
    /// with 3.6's warning), both at once is 3.6's error.
    @Test func renamedExperimentalFlags() throws {
        #expect(try config(["--snapshot-catchup-entries", "7"]).snapshotCatchUpEntries == 7)
        let old = try config(["--experimental-snapshot-catchup-entries", "8"])
        #expect(old.snapshotCatchUpEntries == 8)
        #expect(old.deprecationWarnings == [
            "--experimental-snapshot-catchup-entries is deprecated in v3.6 and will be decommissioned in v3.7. Use '--snapshot-catchup-entries' instead."
        ])
        #expect(throws: ConfigError(
            "cannot set --experimental-watch-progress-notify-interval and --watch-progress-notify-interval at the same time, please use --watch-progress-notify-interval only")) {
            try config(["--experimental-watch-progress-notify-interval", "1s", "--watch-progress-notify-interval", "2s"])
        }
        #expect(try config(["--watch-progress-notify-interval", "3s"]).watchProgressNotifyInterval == .seconds(3))
        #expect(!(try config(["--experimental-peer-skip-client-san-verification"]).peerTLS.verifiesRemoteAddress))
        #expect(try config(["--max-learners", "3"]).maxLearners == 3)
        #expect(try config([]).deprecationWarnings.isEmpty)
        #expect(try config(["--max-snapshots", "3"]).deprecationWarnings == [
            "--max-snapshots is deprecated in 3.6 and will be decommissioned in 3.8."
        ])
    }

    /// An https peer URL needs a peer certificate (given or generated), with etcd's message.
    @Test func httpsPeerURLsNeedAPeerCertificate() throws {
        #expect(throws: ConfigError("cannot listen on TLS for 127.0.0.1:2380: KeyFile and CertFile are not presented")) {
            try config(["--listen-peer-urls", "https://127.0.0.1:2380"])
        }
        let parsed = try config(["--listen-peer-urls", "https://127.0.0.1:2380", "--peer-cert-file", "p.crt", "--peer-key-file", "p.key"])
        #expect(parsed.peerTLS.hasCertificate && parsed.peerTLS.verifiesRemoteAddress)
        #expect(try config(["--listen-peer-urls", "https://127.0.0.1:2380", "--peer-auto-tls"]).peerTLS.autoTLS)
        #expect(!(try config(["--peer-skip-client-san-verification"]).peerTLS.verifiesRemoteAddress))
    }
}
