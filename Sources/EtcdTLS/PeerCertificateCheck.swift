import Foundation
import NIOSSL
import SwiftASN1
import X509

/// What a verified certificate must also satisfy, beyond chaining to a trusted CA: not
/// revoked (`--client-crl-file`, `--peer-crl-file`), and for peers an allowed common name
/// (`--peer-cert-allowed-cn`) or host name (`--peer-cert-allowed-hostname`).
struct PeerCertificateCheck: Sendable {
    var revocations: RevocationList?
    var allowedCommonNames: [String] = []
    var allowedHostnames: [String] = []

    /// Whether there is anything to check (otherwise the handshake needs no callback).
    var isEmpty: Bool { revocations == nil && allowedCommonNames.isEmpty && allowedHostnames.isEmpty }

    /// Why `leaf` is refused, or nil when it passes.
    func refusal(of leaf: NIOSSLCertificate) -> String? {
        guard let certificate = try? Certificate(derEncoded: leaf.toDERBytes()) else {
            return "the certificate could not be read"
        }
        if let revocations, revocations.revokes(serial: certificate.serialNumber.bytes) {
            let hex = RevocationList.trimmed(certificate.serialNumber.bytes).map { String(format: "%02x", $0) }.joined()
            return "transport: certificate serial \(hex) revoked"
        }
        if !allowedCommonNames.isEmpty || !allowedHostnames.isEmpty {
            let names = Self.commonNames(of: certificate)
            let byName = allowedCommonNames.contains(where: names.contains)
            let byHost = allowedHostnames.contains { Self.certificate(certificate, isValidFor: $0) }
            if !byName && !byHost { return "client certificate authentication failed" }
        }
        return nil
    }

    static func commonNames(of certificate: Certificate) -> [String] {
        var names: [String] = []
        for relativeName in certificate.subject {
            for attribute in relativeName where attribute.type == .RDNAttributeType.commonName {
                if let name = String(attribute.value) { names.append(name) }
            }
        }
        return names
    }

    /// Go's `VerifyHostname`: an IP matches an IP SAN; a name matches a DNS SAN, where
    /// `*.example.com` stands for one label.
    static func certificate(_ certificate: Certificate, isValidFor host: String) -> Bool {
        let extensionValue: SubjectAlternativeNames?
        do {
            extensionValue = try certificate.extensions.subjectAlternativeNames
        } catch {
            return false
        }
        guard let names = extensionValue else { return false }
        if let address = IPAddressBytes(host) {
            return names.contains { name in
                if case .ipAddress(let octets) = name { return Array(octets.bytes) == address.bytes }
                return false
            }
        }
        let wanted = host.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        return names.contains { name in
            guard case .dnsName(let pattern) = name else { return false }
            let labels = pattern.lowercased().split(separator: ".", omittingEmptySubsequences: false)
            guard labels.count == wanted.count else { return false }
            return zip(labels.indices, labels).allSatisfy { index, label in
                (index == 0 && label == "*") || label == wanted[index]
            }
        }
    }
}

/// An IPv4 or IPv6 address as the bytes a certificate's IP SAN holds.
struct IPAddressBytes {
    let bytes: [UInt8]

    init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }
}
