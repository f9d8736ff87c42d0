import EtcdConfiguration
import Foundation
import NIOSSL
import X509

/// Reading the PEM files of a TLS configuration, with errors that name the file, worded as
/// Go's (and so etcd's) are.
enum PEMFiles {
    /// The bytes of `path`, or etcd's `open <path>: ...` error.
    static func read(_ path: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason: String
            if !FileManager.default.fileExists(atPath: path) {
                reason = "no such file or directory"
            } else if !FileManager.default.isReadableFile(atPath: path) {
                reason = "permission denied"
            } else {
                reason = "cannot be opened"
            }
            throw ConfigError("open \(path): \(reason)")
        }
        defer { try? handle.close() }
        return Array(try handle.readToEnd() ?? Data())
    }

    /// Every certificate in a PEM file (a chain, or a CA bundle).
    static func certificates(_ path: String) throws -> [NIOSSLCertificate] {
        let bytes = try read(path)
        let certificates = try? NIOSSLCertificate.fromPEMBytes(bytes)
        guard let certificates, !certificates.isEmpty else {
            throw ConfigError("\(path): tls: failed to find any PEM data in certificate input")
        }
        return certificates
    }

    /// The private key of `keyPath`, checked against the first certificate of `certPath`.
    static func keyPair(cert certPath: String, key keyPath: String) throws -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let chain = try certificates(certPath)
        let keyBytes = try read(keyPath)
        guard let key = try? NIOSSLPrivateKey(bytes: keyBytes, format: .pem) else {
            throw ConfigError("\(keyPath): tls: failed to find any PEM data in key input")
        }
        try checkMatch(leaf: chain[0], keyPEM: keyBytes, certPath: certPath, keyPath: keyPath)
        return (chain, key)
    }

    /// Refuses a key whose public half is not the certificate's, as Go's `tls.X509KeyPair` does.
    private static func checkMatch(leaf: NIOSSLCertificate, keyPEM: [UInt8], certPath: String, keyPath: String) throws {
        guard let pem = String(bytes: keyPEM, encoding: .utf8),
            let privateKey = try? Certificate.PrivateKey(pemEncoded: pem),
            let certificate = try? Certificate(derEncoded: leaf.toDERBytes())
        else {
            // A key type swift-certificates does not read: BoringSSL still checks the pair
            // when the context is made.
            return
        }
        guard privateKey.publicKey == certificate.publicKey else {
            throw ConfigError("tls: private key does not match public key (--key-file \(keyPath), --cert-file \(certPath))")
        }
    }
}
