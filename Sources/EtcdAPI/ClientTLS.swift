import EtcdConfiguration
import EtcdTLS
import Logging

/// The client port's TLS from the configuration: the given files, or with `--auto-tls` a
/// self-signed certificate, which (as in etcd) replaces the whole client TLS setup.
enum ClientTLS {
    /// The contexts of the `https://` client listeners and of `https://` metrics listeners
    /// (which, like etcd's, also require a client certificate's SANs to name the remote
    /// address); nil where no such listener exists.
    static func contexts(
        for config: ServerConfig, logger: Logger
    ) throws -> (client: ReloadingTLSContext?, metrics: ReloadingTLSContext?) {
        let secureClient = (config.listenClientURLs + config.listenClientHTTPURLs).contains { $0.scheme == "https" }
        let secureMetrics = config.listenMetricsURLs.contains { $0.scheme == "https" }
        guard secureClient || secureMetrics else {
            if config.clientTLS.hasCertificate {
                logger.warning("scheme is http or unix while key and cert files are present; ignoring key and cert files")
            }
            return (nil, nil)
        }
        let settings = try SelfSignedCertificate.resolve(
            config.clientTLS, directory: config.dataDirectory + "/fixtures/client",
            hosts: (config.listenClientURLs + config.listenClientHTTPURLs + config.listenMetricsURLs).map(\.host),
            validityYears: config.tlsPolicy.selfSignedCertValidityYears, flag: "client auto TLS", logger: logger)
        var metricsSettings = settings
        metricsSettings.verifiesRemoteAddress = true
        return (
            secureClient ? try ReloadingTLSContext(settings: settings, policy: config.tlsPolicy, role: .server, logger: logger) : nil,
            secureMetrics
                ? try ReloadingTLSContext(settings: metricsSettings, policy: config.tlsPolicy, role: .server, logger: logger) : nil
        )
    }
}
