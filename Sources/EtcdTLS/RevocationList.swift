import EtcdConfiguration
import SwiftASN1

/// The serial numbers a certificate revocation list (PEM `X509 CRL`, or DER) revokes. As
/// etcd's listener does, only the serials are used: a certificate whose serial is listed is
/// refused, whoever signed the list.
struct RevocationList: Sendable, Equatable {
    /// Serials without leading zero bytes.
    let revokedSerials: Set<[UInt8]>

    init(revokedSerials: Set<[UInt8]>) {
        self.revokedSerials = revokedSerials
    }

    /// Reads the list in `path`; the error names the file.
    init(file path: String) throws {
        let bytes = try PEMFiles.read(path)
        var der = bytes
        if let text = String(bytes: bytes, encoding: .utf8), text.contains("-----BEGIN") {
            guard let documents = try? PEMDocument.parseMultiple(pemString: text),
                let list = documents.first(where: { $0.discriminator == "X509 CRL" })
            else {
                throw ConfigError("\(path): no X509 CRL PEM block in the certificate revocation list")
            }
            der = list.derBytes
        }
        do {
            try self.init(derBytes: der)
        } catch {
            throw ConfigError("\(path): not a certificate revocation list (\(error))")
        }
    }

    /// Reads a list in DER.
    init(derBytes: [UInt8]) throws {
        revokedSerials = try Self.serials(inDER: derBytes)
    }

    /// Whether `serial` (big-endian bytes) is revoked.
    func revokes(serial: some Collection<UInt8>) -> Bool {
        revokedSerials.contains(Self.trimmed(serial))
    }

    static func trimmed(_ serial: some Collection<UInt8>) -> [UInt8] {
        Array(serial.drop(while: { $0 == 0 }))
    }

    /// CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signature }; the
    /// revoked entries are the SEQUENCE in tbsCertList whose elements are SEQUENCEs that
    /// start with the serial INTEGER (no other field of tbsCertList has that shape).
    private static func serials(inDER der: [UInt8]) throws -> Set<[UInt8]> {
        let root = try DER.parse(der)
        guard case .constructed(let top) = root.content, let tbs = top.first(where: { _ in true }),
            case .constructed(let fields) = tbs.content
        else { throw ASN1Error.invalidASN1Object(reason: "CertificateList is not a SEQUENCE") }
        var serials = Set<[UInt8]>()
        for field in fields where field.identifier == .sequence {
            guard case .constructed(let entries) = field.content else { continue }
            let parsed: [[UInt8]] = entries.compactMap { entry in
                guard entry.identifier == .sequence, case .constructed(let parts) = entry.content,
                    let first = parts.first(where: { _ in true }), first.identifier == .integer,
                    case .primitive(let serial) = first.content
                else { return nil }
                return trimmed(serial)
            }
            guard !parsed.isEmpty, parsed.count == entries.reduce(0, { count, _ in count + 1 }) else { continue }
            serials.formUnion(parsed)
        }
        return serials
    }
}
