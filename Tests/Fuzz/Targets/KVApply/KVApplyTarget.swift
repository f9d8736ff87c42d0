import EtcdProto
import EtcdServer
import FuzzSupport
import LeanGRPC
import SwiftProtobuf

/// Client requests through the server's checks, into the log and through apply, on a
/// fresh store per input. An input is a list of requests, each a kind byte (`Kind`) and a
/// chunk holding the request's protobuf encoding, as the client API would decode it.
enum KVApplyTarget: FuzzTarget {
    enum Kind: UInt8, CaseIterable {
        case range, put, deleteRange, txn, compaction, leaseGrant, leaseRevoke
    }

    /// More requests than this per input only make inputs slower.
    static let maxRequests = 16

    static func run(_ input: [UInt8]) {
        let scratch = ScratchDirectory()
        withExtendedLifetime(scratch) {
            let member: StandaloneMember
            do { member = try StandaloneMember(directory: scratch.path) } catch { fatalError("cannot open a store: \(error)") }
            var reader = FuzzInput(input)
            for _ in 0..<maxRequests where !reader.isAtEnd {
                let kind = Kind.allCases[Int(reader.byte()) % Kind.allCases.count]
                let payload = reader.chunk()
                do {
                    try submit(kind, payload, to: member)
                } catch let failure as StandaloneMember.ApplyFailure {
                    fatalError("\(kind) request of \(payload.count) bytes killed the member: \(failure)")
                } catch {
                    // Refused before the log (bad request, undecodable) or failed as etcd fails it.
                }
            }
        }
    }

    private static func submit(_ kind: Kind, _ payload: [UInt8], to member: StandaloneMember) throws {
        switch kind {
        case .range: try member.range(try decode(payload))
        case .put: try member.put(try decode(payload))
        case .deleteRange: try member.deleteRange(try decode(payload))
        case .txn: try member.txn(try decode(payload))
        case .compaction: try member.compact(try decode(payload))
        case .leaseGrant: try member.leaseGrant(try decode(payload))
        case .leaseRevoke: try member.leaseRevoke(try decode(payload))
        }
    }

    /// Decodes a request as the client port does (its nesting limit included).
    private static func decode<M: SwiftProtobuf.Message>(_ payload: [UInt8]) throws -> M {
        try M(serializedBytes: payload, options: GRPCMessageBuffer.decodingOptions)
    }

    /// One request of an input.
    static func request(_ kind: Kind, _ message: some SwiftProtobuf.Message) throws -> [UInt8] {
        [kind.rawValue] + FuzzInput.chunk(try message.serializedBytes())
    }
}
