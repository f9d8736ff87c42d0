import EtcdConfiguration
import EtcdTLS
import Logging
import Transport

/// The peer port's TLS from the configuration, loaded before the member bootstraps (as in
/// etcd, a peer key that does not load stops start-up before anything is written).
struct PeerTLSSetup {
    /// What `https://` peer listeners present and check (nil: no https listener).
    let listener: ReloadingTLSContext?
    /// How this member opens connections to peers.
    let dialer: PeerDialer

    static func load(config: ServerConfig, logger: Logger) throws -> PeerTLSSetup {
        let settings = try SelfSignedCertificate.resolve(
            config.peerTLS, directory: config.dataDirectory + "/fixtures/peer", hosts: config.listenPeerURLs.map(\.host),
            validityYears: config.tlsPolicy.selfSignedCertValidityYears, flag: "peer auto TLS", logger: logger)
        let secureListener = config.listenPeerURLs.contains { $0.scheme == "https" }
        if !secureListener && config.peerTLS.hasCertificate {
            logger.warning("scheme is HTTP while key and cert files are present; ignoring key and cert files")
        }
        let peerURLs = config.initialCluster.flatMap(\.peerURLs) + config.initialAdvertisePeerURLs + config.listenPeerURLs
        let dialsTLS = secureListener || settings.hasCertificate || peerURLs.contains { $0.scheme == "https" }
        return PeerTLSSetup(
            listener: secureListener
                ? try ReloadingTLSContext(settings: settings, policy: config.tlsPolicy, role: .server, logger: logger) : nil,
            dialer: PeerDialer(
                tls: dialsTLS
                    ? try ReloadingTLSContext(settings: settings, policy: config.tlsPolicy, role: .client, logger: logger) : nil))
    }
}
