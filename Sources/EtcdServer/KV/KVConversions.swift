import EtcdProto
import Foundation
import Lease
import MVCC

extension Mvccpb_KeyValue {
    /// The wire form of a stored key-value.
    init(_ kv: KeyValue) {
        self.init()
        key = kv.key
        createRevision = kv.createRevision
        modRevision = kv.modRevision
        version = kv.version
        value = kv.value
        lease = kv.lease
    }
}

extension KeyRange {
    /// A request's key and range_end under etcd's conventions.
    init(key: Data, rangeEnd: Data) {
        self.init(key: [UInt8](key), rangeEnd: [UInt8](rangeEnd))
    }
}

extension EtcdError {
    /// The client-facing error for a store error.
    init(_ error: MVCCError) {
        switch error {
        case .compacted: self = .compacted
        case .futureRevision: self = .futureRevision
        case .corrupt(let detail): self = EtcdError(.dataLoss, "etcdserver: corrupt backend: \(detail)")
        }
    }

    /// The client-facing error for a lease error.
    init(_ error: LeaseError) {
        switch error {
        case .notFound: self = .leaseNotFound
        case .alreadyExists: self = .leaseExists
        case .ttlTooLarge: self = .leaseTTLTooLarge
        case .notPrimary: self = .notLeader
        }
    }

    /// Maps any error from the lower layers to what a client should see.
    static func wrapping(_ error: any Error) -> EtcdError {
        switch error {
        case let etcd as EtcdError: return etcd
        case let mvcc as MVCCError: return EtcdError(mvcc)
        case let lease as LeaseError: return EtcdError(lease)
        default: return EtcdError(.internalError, "etcdserver: \(error)")
        }
    }
}
