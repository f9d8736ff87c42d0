import Foundation
import NIOSSL
import SwiftASN1
import X509

/// What a verified certificate must also satisfy, beyond chaining to a trusted CA: not
/// revoked (`--client-crl-file`, `--peer-crl-file`), and for peers an allowed common name
/// (`--peer-cert-allowed-cn`) or host name (`--peer-cert-allowed-hostname`), and for peers
/// SANs that name the address the connection comes from.
struct PeerCertificateCheck: Sendable {
    var revocations: RevocationList?
    var allowedCommonNames: [String] = []
    var allowedHostnames: [String] = []
    /// Whether a certificate with IP or DNS SANs must name the connection's remote address
    /// (the peer port, unless `--peer-skip-client-san-verification`).
    var verifiesRemoteAddress = false

    /// Whether there is anything to check (otherwise the handshake needs no callback).
    var isEmpty: Bool { revocations == nil && allowedCommonNames.isEmpty && allowedHostnames.isEmpty && !verifiesRemoteAddress }

    /// Why `leaf`, presented from `remoteIP`, is refused, or nil when it passes.
    func refusal(of leaf: NIOSSLCertificate, remoteIP: String? = nil) -> String? {
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
        if verifiesRemoteAddress, let remoteIP, let refusal = Self.remoteAddressRefusal(certificate, remoteIP: remoteIP) {
            return refusal
        }
        return nil
    }

    /// etcd's `checkSAN`: a certificate without IP or DNS SANs passes; otherwise `remoteIP`
    /// must be one of its IP SANs or an address one of its DNS names resolves to.
    static func remoteAddressRefusal(_ certificate: Certificate, remoteIP: String) -> String? {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return nil }
        var addresses: [[UInt8]] = []
        var dnsNames: [String] = []
        for name in names {
            switch name {
            case .ipAddress(let octets): addresses.append(Array(octets.bytes))
            case .dnsName(let dnsName): dnsNames.append(dnsName)
            default: break
            }
        }
        guard !addresses.isEmpty || !dnsNames.isEmpty else { return nil }
        guard let remote = IPAddressBytes(remoteIP) else { return "cannot read the remote address \(remoteIP)" }
        if addresses.contains(remote.bytes) { return nil }
        if !dnsNames.isEmpty {
            if dnsNames.contains(where: { resolvedAddresses(of: $0).contains(remote.bytes) }) { return nil }
            return "tls: \"\(remoteIP)\" does not match any of DNSNames [\(dnsNames.map { "\"\($0)\"" }.joined(separator: " "))]"
        }
        let shown = addresses.compactMap(IPAddressBytes.text(of:)).joined(separator: ", ")
        return "x509: certificate is valid for \(shown), not \(remoteIP)"
    }

    /// The addresses `host` resolves to (from /etc/hosts or DNS).
    static func resolvedAddresses(of host: String) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                        var ip = $0.pointee.sin_addr
                        addresses.append(withUnsafeBytes(of: &ip) { Array($0) })
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        var ip = $0.pointee.sin6_addr
                        addresses.append(withUnsafeBytes(of: &ip) { Array($0) })
                    }
                default: break
                }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
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
