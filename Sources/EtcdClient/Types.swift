import EtcdProto
import Foundation

/// The header of every response: which cluster and member answered, at which revision.
public struct ResponseHeader: Sendable, Hashable {
    public var clusterID: UInt64
    public var memberID: UInt64
    /// The store's revision when the request was served (for writes: the revision they made).
    public var revision: Int64
    public var raftTerm: UInt64

    public init(clusterID: UInt64 = 0, memberID: UInt64 = 0, revision: Int64 = 0, raftTerm: UInt64 = 0) {
        self.clusterID = clusterID
        self.memberID = memberID
        self.revision = revision
        self.raftTerm = raftTerm
    }

    init(_ raw: Etcdserverpb_ResponseHeader) {
        self.init(clusterID: raw.clusterID, memberID: raw.memberID, revision: raw.revision, raftTerm: raw.raftTerm)
    }

    var raw: Etcdserverpb_ResponseHeader {
        var header = Etcdserverpb_ResponseHeader()
        header.clusterID = clusterID
        header.memberID = memberID
        header.revision = revision
        header.raftTerm = raftTerm
        return header
    }
}

/// The ID of a lease, shown in hexadecimal like etcdctl does.
public struct LeaseID: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ rawValue: Int64) { self.rawValue = rawValue }

    /// No lease (0).
    public static let none = LeaseID(0)

    /// Parses etcdctl's hexadecimal form.
    public init?(hex: String) {
        guard let value = Int64(hex, radix: 16) else { return nil }
        rawValue = value
    }

    /// The ID as 16 hexadecimal digits.
    public var hex: String {
        let digits = String(UInt64(bitPattern: rawValue), radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    public var description: String { hex }
    public static func < (lhs: LeaseID, rhs: LeaseID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One key with its value and metadata.
public struct KeyValue: Sendable, Hashable {
    public var key: EtcdBytes
    public var value: EtcdBytes
    /// The revision of the key's creation (0 if it does not exist).
    public var createRevision: Int64
    /// The revision of the key's last change.
    public var modRevision: Int64
    /// How many times the key was written since its creation (1 after the first put).
    public var version: Int64
    /// The lease the key is attached to, or ``LeaseID/none``.
    public var lease: LeaseID

    public init(key: EtcdBytes, value: EtcdBytes, createRevision: Int64, modRevision: Int64, version: Int64,
                lease: LeaseID = .none) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    public init(_ raw: Mvccpb_KeyValue) {
        self.init(key: EtcdBytes(raw.key), value: EtcdBytes(raw.value), createRevision: raw.createRevision,
                  modRevision: raw.modRevision, version: raw.version, lease: LeaseID(raw.lease))
    }
}

extension Etcdserverpb_ResponseHeader {
    var native: ResponseHeader { ResponseHeader(self) }
}
