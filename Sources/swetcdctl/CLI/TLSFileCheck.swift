import NIOSSL

/// The checks Go's `tls.X509KeyPair` makes of `--cert` and `--key` before etcdctl dials,
/// with its messages: both files hold PEM data, and the key is the certificate's.
enum TLSFileCheck {
    /// Why the pair cannot be used, or nil when it can.
    static func problem(certificateFile: String, keyFile: String) -> String? {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            return "tls: failed to find any PEM data in certificate input"
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            return "tls: failed to find any PEM data in key input"
        }
        // BoringSSL refuses a context whose key does not belong to its certificate.
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateChain = chain.map { .certificate($0) }
        configuration.privateKey = .privateKey(key)
        return (try? NIOSSLContext(configuration: configuration)) == nil ? "tls: private key does not match public key" : nil
    }
}
