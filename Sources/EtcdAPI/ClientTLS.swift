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
        if settings.autoTLS {
            if settings.hasCertificate {
                logger.warning("ignoring client auto TLS since certs given")
            } else {
                let hosts = (config.listenClientURLs + config.listenClientHTTPURLs).map(\.host)
                let files = try SelfSignedCertificate.files(
                    in: config.dataDirectory + "/fixtures/client", hosts: hosts,
                    validityYears: config.tlsPolicy.selfSignedCertValidityYears)
                if files.created { logger.info("created cert file", metadata: ["path": "\(files.certFile)"]) }
                settings = TLSSettings()
                settings.certFile = files.certFile
                settings.keyFile = files.keyFile
            }
        }
        return try ReloadingTLSContext(settings: settings, policy: config.tlsPolicy, role: .server, logger: logger)
    }
}
