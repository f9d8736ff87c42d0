import EtcdTLS
import LeanGRPC

/// How this member opens connections to a peer URL: plaintext for `http://`, TLS with the
/// peer client files (`--peer-cert-file` presented, `--peer-trusted-ca-file` trusted) for
/// `https://`, the server's certificate checked against the URL's host.
public struct PeerDialer: Sendable {
    let tls: ReloadingTLSContext?

    /// A dialer that opens `https://` peer URLs with `tls` (nil: only `http://` ones).
    public init(tls: ReloadingTLSContext?) {
        self.tls = tls
    }

    /// Connects to the peer at `url`.
    func connect(_ url: String) async throws -> LeanConnection {
        guard let address = PeerConnection.hostPort(url) else { throw PeerError.unusableURL(url) }
        guard url.hasPrefix("https://") else {
            return try await LeanConnection.connect(host: address.host, port: address.port)
        }
        guard let tls else { throw PeerError.noPeerTLS(url) }
        return try await LeanConnection.connect(host: address.host, port: address.port) {
            try tls.clientHandler(host: address.host)
        }
    }
}
