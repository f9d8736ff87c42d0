import Crypto
import Foundation
import SwiftASN1
import X509

/// Certificates the TLS tests make for themselves in a directory: two CAs, a server
/// certificate for 127.0.0.1 and localhost, and client certificates (valid, from the other
/// CA, expired). PEM files named `<name>.crt` / `<name>.key`.
struct TestPKI {
    let directory: URL

    /// The path of `<name>.crt`.
    func cert(_ name: String) -> String { directory.appendingPathComponent("\(name).crt").path }
    /// The path of `<name>.key`.
    func key(_ name: String) -> String { directory.appendingPathComponent("\(name).key").path }

    /// Makes `ca`, `ca2`, `server`, `server-ca2`, `client` (CN client), `client-ca2`, `client-expired`,
    /// and for peers `peer` (CN peer), `peer-intruder` (CN intruder) and `peer-ca2`.
    static func make(in directory: URL) throws -> TestPKI {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pki = TestPKI(directory: directory)
        let now = Date()
        let ca = try pki.authority("ca", commonName: "swetcd test CA", now: now)
        let ca2 = try pki.authority("ca2", commonName: "another CA", now: now)
        let localhost: [GeneralName] = [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
        try pki.issue("server", commonName: "server", names: localhost, usages: [.serverAuth, .clientAuth], by: ca, now: now)
        try pki.issue("server-ca2", commonName: "server", names: localhost, usages: [.serverAuth, .clientAuth], by: ca2, now: now)
        try pki.issue("client", commonName: "client", names: [], usages: [.clientAuth], by: ca, now: now)
        try pki.issue("client-ca2", commonName: "client", names: [], usages: [.clientAuth], by: ca2, now: now)
        // Peers: one certificate all members share, one with a CN peers do not allow, one from the other CA.
        for (file, commonName, issuer) in [("peer", "peer", ca), ("peer-intruder", "intruder", ca), ("peer-ca2", "peer", ca2)] {
            try pki.issue(file, commonName: commonName, names: localhost, usages: [.serverAuth, .clientAuth], by: issuer, now: now)
        }
        try pki.issue(
            "client-expired", commonName: "client", names: [], usages: [.clientAuth], by: ca,
            now: now.addingTimeInterval(-10 * 86_400), days: 1)
        return pki
    }

    typealias Authority = (name: DistinguishedName, key: Certificate.PrivateKey)

    private func authority(_ file: String, commonName: String, now: Date) throws -> Authority {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(30 * 86_400), issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(key))
        try write(file, certificate: certificate, key: key)
        return (name, .init(key))
    }

    private func issue(
        _ file: String, commonName: String, names: [GeneralName], usages: [ExtendedKeyUsage.Usage], by issuer: Authority,
        now: Date, days: Double = 30
    ) throws {
        let key = P256.Signing.PrivateKey()
        let extensions = try Certificate.Extensions {
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            try ExtendedKeyUsage(usages)
            if !names.isEmpty { SubjectAlternativeNames(names) }
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(days * 86_400), issuer: issuer.name,
            subject: try DistinguishedName { CommonName(commonName) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: issuer.key)
        try write(file, certificate: certificate, key: key)
    }

    private func write(_ file: String, certificate: Certificate, key: P256.Signing.PrivateKey) throws {
        try certificate.serializeAsPEM().pemString.write(toFile: cert(file), atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(toFile: self.key(file), atomically: true, encoding: .utf8)
    }
}
