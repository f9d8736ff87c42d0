import NIOCore
import NIOSSL

extension ReloadingTLSContext {
    /// A TLS client handler for a new connection to `host`, with this side's current files:
    /// the server's certificate must chain to the trusted CA and be valid for `host` (a DNS
    /// name, or an IP address matched against the certificate's IP SANs, as Go does).
    public func clientHandler(host: String) throws -> NIOSSLClientHandler {
        let (context, _) = current()
        return try NIOSSLClientHandler(context: context, serverHostname: IPAddressBytes(host) == nil ? host : nil)
    }
}
