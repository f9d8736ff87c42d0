import NIOCore
import NIOSSL
import X509

/// The name a client's TLS certificate gives it: etcd runs a request that carries no token
/// as the user named by the common name of the client's verified certificate.
public enum ClientCertificateName {
    /// The common name of the certificate the client on `channel` presented and the TLS
    /// handler verified; nil without TLS, without a client certificate, or without a CN.
    /// Call it on the channel's event loop, after the handshake.
    public static func of(_ channel: any Channel) -> String? {
        guard let tls = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            let leaf = tls.peerCertificate,
            let der = try? leaf.toDERBytes(),
            let certificate = try? Certificate(derEncoded: der)
        else { return nil }
        return PeerCertificateCheck.commonNames(of: certificate).first
    }
}
