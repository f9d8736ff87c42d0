import EtcdConfiguration
import EtcdTLS
import Logging

/// The client port's TLS from the configuration: the given files, or with `--auto-tls` a
/// self-signed certificate, which (as in etcd) replaces the whole client TLS setup.
enum ClientTLS {
    static func context(for config: ServerConfig, secure: Bool, logger: Logger) throws -> ReloadingTLSContext? {
        var settings = config.clientTLS
        guard secure else {
            if settings.hasCertificate {
                logger.warning("scheme is http or unix while key and cert files are present; ignoring key and cert files")
            }
            return nil
        }
        settings = try SelfSignedCertificate.resolve(
            settings, directory: config.dataDirectory + "/fixtures/client",
            hosts: (config.listenClientURLs + config.listenClientHTTPURLs).map(\.host),
            validityYears: config.tlsPolicy.selfSignedCertValidityYears, flag: "client auto TLS", logger: logger)
        return try ReloadingTLSContext(settings: settings, policy: config.tlsPolicy, role: .server, logger: logger)
    }
}
