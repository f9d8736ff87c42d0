import Testing
@testable import EtcdTLS

/// Certificate revocation lists as `--client-crl-file` and `--peer-crl-file` give them.
@Suite struct RevocationListTests {
    @Test func listedSerialsAreRevokedWhateverTheirLeadingZeros() throws {
        let list = try RevocationList(derBytes: CRLBytes.make(revoking: [[0x01, 0x02], [0x00, 0xFF, 0x10]]))
        #expect(list.revokes(serial: [0x01, 0x02]))
        #expect(list.revokes(serial: [0x00, 0x01, 0x02]))
        #expect(list.revokes(serial: [0xFF, 0x10]))
        #expect(!list.revokes(serial: [0x01, 0x03]))
    }

    @Test func anEmptyListRevokesNothing() throws {
        let list = try RevocationList(derBytes: CRLBytes.make(revoking: []))
        #expect(list.revokedSerials.isEmpty)
    }

    @Test func garbageIsRefused() {
        #expect(throws: (any Error).self) { try RevocationList(derBytes: [0x30, 0x03, 0x02, 0x01]) }
    }
}

/// A CRL in DER built by hand: the fields swetcd reads, a dummy signature (etcd does not
/// check it either).
enum CRLBytes {
    static func make(revoking serials: [[UInt8]]) -> [UInt8] {
        let algorithm = tlv(0x30, tlv(0x06, [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]))
        let issuer = tlv(0x30, tlv(0x31, tlv(0x30, tlv(0x06, [0x55, 0x04, 0x03]) + tlv(0x0C, Array("ca".utf8)))))
        let time = tlv(0x17, Array("261207000000Z".utf8))
        var fields = tlv(0x02, [0x01]) + algorithm + issuer + time + time
        if !serials.isEmpty {
            fields += tlv(0x30, serials.flatMap { tlv(0x30, tlv(0x02, $0) + time) })
        }
        return tlv(0x30, tlv(0x30, fields) + algorithm + tlv(0x03, [0x00]))
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        let count = content.count
        let length: [UInt8] = count < 0x80 ? [UInt8(count)] : count < 0x100 ? [0x81, UInt8(count)] : [0x82, UInt8(count >> 8), UInt8(count & 0xFF)]
        return [tag] + length + content
    }
}
