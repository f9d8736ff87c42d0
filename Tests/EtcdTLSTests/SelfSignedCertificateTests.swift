import Foundation
import NIOSSL
import Testing
import X509
@testable import EtcdTLS

/// `--auto-tls`: a certificate for the listen hosts, made once and then reused.
@Suite struct SelfSignedCertificateTests {
    @Test func madeOnceForTheListenHostsAndReused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("auto-tls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try SelfSignedCertificate.files(in: directory, hosts: ["127.0.0.1", "localhost"], validityYears: 2)
        #expect(first.created)
        let again = try SelfSignedCertificate.files(in: directory, hosts: ["127.0.0.1"], validityYears: 2)
        #expect(!again.created && again.certFile == first.certFile)

        let pem = try String(contentsOfFile: first.certFile, encoding: .utf8)
        let certificate = try Certificate(pemEncoded: pem)
        #expect(PeerCertificateCheck.certificate(certificate, isValidFor: "127.0.0.1"))
        #expect(PeerCertificateCheck.certificate(certificate, isValidFor: "localhost"))
        let years = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore) / (365 * 86_400)
        #expect(abs(years - 2) < 0.01)
        let mode = try FileManager.default.attributesOfItem(atPath: first.keyFile)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the key is readable by its owner only")
        // The pair loads as a server's.
        _ = try PEMFiles.keyPair(cert: first.certFile, key: first.keyFile)
    }

    @Test func aKeyThatIsNotTheCertificatesStopsLoadingNamingBothFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mismatch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let one = try SelfSignedCertificate.files(in: directory + "/one", hosts: ["127.0.0.1"], validityYears: 1)
        let two = try SelfSignedCertificate.files(in: directory + "/two", hosts: ["127.0.0.1"], validityYears: 1)
        #expect(throws: (any Error).self) { try PEMFiles.keyPair(cert: one.certFile, key: two.keyFile) }
        do {
            _ = try PEMFiles.keyPair(cert: one.certFile, key: two.keyFile)
        } catch {
            #expect("\(error)".contains("tls: private key does not match public key") && "\(error)".contains(two.keyFile))
        }
        do {
            _ = try PEMFiles.keyPair(cert: directory + "/missing.pem", key: two.keyFile)
        } catch {
            #expect("\(error)" == "open \(directory)/missing.pem: no such file or directory")
        }
    }
}
