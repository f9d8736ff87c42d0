import Crypto
import EtcdConfiguration
import Foundation
import Logging
import SwiftASN1
import X509

/// `--auto-tls` and `--peer-auto-tls`: a self-signed certificate for the listen hosts, made
/// once in `<data-dir>/fixtures/<client|peer>/` and reused while both files exist, as etcd's.
public enum SelfSignedCertificate {
    /// The certificate and key files in `directory` for `hosts`, generated unless both exist.
    public static func files(
        in directory: String, hosts: [String], validityYears: Int
    ) throws -> (certFile: String, keyFile: String, created: Bool) {
        let certFile = directory + "/cert.pem"
        let keyFile = directory + "/key.pem"
        let files = FileManager.default
        if files.fileExists(atPath: certFile) && files.fileExists(atPath: keyFile) { return (certFile, keyFile, false) }
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let (certificatePEM, keyPEM) = try make(hosts: hosts, validityYears: validityYears)
            try Data(keyPEM.utf8).write(to: URL(fileURLWithPath: keyFile))
            try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
            try Data(certificatePEM.utf8).write(to: URL(fileURLWithPath: certFile))
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError("cannot generate cert in \(directory): \(error)")
        }
        return (certFile, keyFile, true)
    }

    /// `settings` with `--auto-tls` (or `--peer-auto-tls`) carried out: unless a certificate
    /// was given, the whole TLS setup is replaced by a generated certificate for `hosts` in
    /// `directory`, which peers and clients use without verifying, as etcd's `SelfCert` does.
    public static func resolve(
        _ settings: TLSSettings, directory: String, hosts: [String], validityYears: Int, flag: String, logger: Logger
    ) throws -> TLSSettings {
        guard settings.autoTLS else { return settings }
        guard !settings.hasCertificate else {
            logger.warning("ignoring \(flag) since certs given")
            return settings
        }
        let files = try files(in: directory, hosts: hosts, validityYears: validityYears)
        if files.created { logger.info("created cert file", metadata: ["path": "\(files.certFile)"]) }
        var generated = TLSSettings()
        generated.certFile = files.certFile
        generated.keyFile = files.keyFile
        generated.autoTLS = true
        return generated
    }

    /// A P-521 key and a certificate for it, signed by itself: subject `O=etcd`, each host as
    /// an IP or DNS name, for server and client use.
    static func make(hosts: [String], validityYears: Int, now: Date = Date()) throws -> (certificate: String, key: String) {
        let key = P521.Signing.PrivateKey()
        let privateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName { OrganizationName("etcd") }
        let alternativeNames: [GeneralName] = Set(hosts).sorted().map { host in
            if let address = IPAddressBytes(host) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.bytes))) }
            return .dnsName(host)
        }
        let extensions = try Certificate.Extensions {
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            try ExtendedKeyUsage([.serverAuth, .clientAuth])
            SubjectAlternativeNames(alternativeNames)
        }
        var serial = [UInt8](repeating: 0, count: 16)
        for index in serial.indices { serial[index] = UInt8.random(in: 0...255) }
        serial[0] &= 0x7F
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial), publicKey: privateKey.publicKey,
            notValidBefore: now, notValidAfter: now.addingTimeInterval(Double(max(1, validityYears)) * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA512, extensions: extensions,
            issuerPrivateKey: privateKey)
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }
}
