import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import Testing
import X509
@testable import EtcdTLS

/// The checks made inside the handshake after the chain verified: revoked serials, and a
/// peer's allowed common names or host names (`--peer-cert-allowed-cn`, `--peer-cert-allowed-hostname`).
@Suite struct PeerCertificateCheckTests {
    @Test func anEmptyCheckAcceptsAnyCertificate() throws {
        let check = PeerCertificateCheck()
        #expect(check.isEmpty)
        #expect(check.refusal(of: try Self.certificate(commonName: "anyone")) == nil)
    }

    @Test func allowedCommonNamesLetOnlyThoseIn() throws {
        var check = PeerCertificateCheck()
        check.allowedCommonNames = ["peer1", "peer2"]
        #expect(check.refusal(of: try Self.certificate(commonName: "peer2")) == nil)
        #expect(check.refusal(of: try Self.certificate(commonName: "intruder")) == "client certificate authentication failed")
    }

    @Test func allowedHostnamesMatchIPAndDNSNamesWithOneLabelWildcards() throws {
        let certificate = try Self.certificate(
            commonName: "x", names: [.ipAddress(ASN1OctetString(contentBytes: [10, 0, 0, 7])), .dnsName("*.peers.example")])
        for (host, allowed) in [("10.0.0.7", true), ("10.0.0.8", false), ("m1.peers.example", true), ("a.b.peers.example", false)] {
            var check = PeerCertificateCheck()
            check.allowedHostnames = [host]
            #expect((check.refusal(of: certificate) == nil) == allowed, "\(host)")
        }
    }

    @Test func aRevokedSerialIsRefusedWithEtcdsWords() throws {
        let serial: [UInt8] = [0x12, 0x34, 0x56]
        var check = PeerCertificateCheck()
        check.revocations = RevocationList(revokedSerials: [serial])
        #expect(check.refusal(of: try Self.certificate(commonName: "c", serial: serial)) == "transport: certificate serial 123456 revoked")
        #expect(check.refusal(of: try Self.certificate(commonName: "c", serial: [0x12, 0x34, 0x57])) == nil)
    }

    /// etcd's `checkSAN` on the peer port: a certificate naming addresses must name the one
    /// the connection comes from (an IP SAN, or a DNS SAN that resolves to it); one naming
    /// none passes.
    @Test func peerCertificatesMustNameTheAddressTheyComeFrom() throws {
        var check = PeerCertificateCheck()
        check.verifiesRemoteAddress = true
        #expect(!check.isEmpty)
        let elsewhere = try Self.certificate(commonName: "p", names: [.ipAddress(ASN1OctetString(contentBytes: [10, 9, 9, 9]))])
        #expect(check.refusal(of: elsewhere, remoteIP: "127.0.0.1") == "x509: certificate is valid for 10.9.9.9, not 127.0.0.1")
        #expect(check.refusal(of: elsewhere, remoteIP: "10.9.9.9") == nil)
        let byName = try Self.certificate(commonName: "p", names: [.dnsName("localhost")])
        #expect(check.refusal(of: byName, remoteIP: "127.0.0.1") == nil)
        #expect(check.refusal(of: byName, remoteIP: "10.1.2.3") == "tls: \"10.1.2.3\" does not match any of DNSNames [\"localhost\"]")
        #expect(check.refusal(of: try Self.certificate(commonName: "p"), remoteIP: "10.1.2.3") == nil)
    }

    /// A self-signed certificate with this subject CN, SANs and serial.
    static func certificate(commonName: String, names: [GeneralName] = [], serial: [UInt8] = [0x01]) throws -> NIOSSLCertificate {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let extensions = try Certificate.Extensions {
            if !names.isEmpty { SubjectAlternativeNames(names) }
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(bytes: serial), publicKey: .init(key.publicKey), notValidBefore: Date(),
            notValidAfter: Date().addingTimeInterval(86_400), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: .init(key))
        return try NIOSSLCertificate(bytes: Array(certificate.serializeAsPEM().pemString.utf8), format: .pem)
    }
}
