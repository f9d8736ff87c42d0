import EtcdProto
import Foundation

/// A condition of a transaction: a key's (or range's) version, create/mod revision, value or
/// lease compared with a constant.
///
/// ```swift
/// Compare.version("k", .equal, 0)          // k does not exist
/// Compare.modRevision("k", .less, 100)
/// Compare.value("k", .notEqual, "x")
/// ```
public struct Compare: Sendable, Hashable {
    public enum Result: Int, Sendable, Hashable {
        case equal = 0, greater, less, notEqual
    }

    public enum Target: Sendable, Hashable {
        case version(Int64)
        case createRevision(Int64)
        case modRevision(Int64)
        case value(EtcdBytes)
        case lease(LeaseID)
    }

    public var key: EtcdBytes
    /// With a range end, every key in `[key, rangeEnd)` must satisfy the comparison.
    public var rangeEnd: EtcdBytes
    public var result: Result
    public var target: Target

    public init(_ range: KeyRange, _ result: Result, _ target: Target) {
        let (key, end) = range.bounds
        self.key = key
        self.rangeEnd = end
        self.result = result
        self.target = target
    }

    public static func version(_ range: KeyRange, _ result: Result, _ version: Int64) -> Compare {
        Compare(range, result, .version(version))
    }
    public static func createRevision(_ range: KeyRange, _ result: Result, _ revision: Int64) -> Compare {
        Compare(range, result, .createRevision(revision))
    }
    public static func modRevision(_ range: KeyRange, _ result: Result, _ revision: Int64) -> Compare {
        Compare(range, result, .modRevision(revision))
    }
    public static func value(_ range: KeyRange, _ result: Result, _ value: EtcdBytes) -> Compare {
        Compare(range, result, .value(value))
    }
    public static func lease(_ range: KeyRange, _ result: Result, _ lease: LeaseID) -> Compare {
        Compare(range, result, .lease(lease))
    }

    public var raw: Etcdserverpb_Compare {
        var compare = Etcdserverpb_Compare()
        compare.key = key.data
        compare.rangeEnd = rangeEnd.data
        compare.result = Etcdserverpb_Compare.CompareResult(rawValue: result.rawValue) ?? .equal
        switch target {
        case .version(let value):
            compare.target = .version
            compare.version = value
        case .createRevision(let value):
            compare.target = .create
            compare.createRevision = value
        case .modRevision(let value):
            compare.target = .mod
            compare.modRevision = value
        case .value(let value):
            compare.target = .value
            compare.value = value.data
        case .lease(let value):
            compare.target = .lease
            compare.lease = value.rawValue
        }
        return compare
    }
}

/// One operation inside a transaction.
public enum TxnOp: Sendable {
    case get(KeyRange, GetOptions = GetOptions())
    case put(EtcdBytes, EtcdBytes, PutOptions = PutOptions())
    case delete(KeyRange, prevKV: Bool = false)
    /// A nested transaction.
    case txn(compares: [Compare], then: [TxnOp], else: [TxnOp])

    var isReadOnly: Bool {
        switch self {
        case .get: return true
        case .put, .delete: return false
        case .txn(_, let then, let otherwise): return (then + otherwise).allSatisfy(\.isReadOnly)
        }
    }

    public var raw: Etcdserverpb_RequestOp {
        var op = Etcdserverpb_RequestOp()
        switch self {
        case .get(let range, let options): op.requestRange = KV.rangeRequest(range, options)
        case .put(let key, let value, let options): op.requestPut = KV.putRequest(key, value, options)
        case .delete(let range, let prevKV): op.requestDeleteRange = KV.deleteRequest(range, prevKV: prevKV)
        case .txn(let compares, let then, let otherwise): op.requestTxn = Self.txnRequest(compares, then, otherwise)
        }
        return op
    }

    static func txnRequest(_ compares: [Compare], _ success: [TxnOp], _ failure: [TxnOp]) -> Etcdserverpb_TxnRequest {
        var request = Etcdserverpb_TxnRequest()
        request.compare = compares.map(\.raw)
        request.success = success.map(\.raw)
        request.failure = failure.map(\.raw)
        return request
    }
}

/// The result of one operation of a transaction.
public enum TxnOpResponse: Sendable {
    case get(GetResponse)
    case put(PutResponse)
    case delete(DeleteResponse)
    case txn(TxnResponse)

    init?(_ raw: Etcdserverpb_ResponseOp) {
        switch raw.response {
        case .responseRange(let r): self = .get(GetResponse(raw: r))
        case .responsePut(let r): self = .put(PutResponse(raw: r))
        case .responseDeleteRange(let r): self = .delete(DeleteResponse(raw: r))
        case .responseTxn(let r): self = .txn(TxnResponse(raw: r))
        case nil: return nil
        }
    }

    /// The read's response, if this is one.
    public var get: GetResponse? { if case .get(let r) = self { r } else { nil } }
}

public struct TxnResponse: Sendable {
    public var raw: Etcdserverpb_TxnResponse
    public init(raw: Etcdserverpb_TxnResponse) { self.raw = raw }
    public var header: ResponseHeader { raw.header.native }
    /// Whether every comparison held (and the `then` branch ran).
    public var succeeded: Bool { raw.succeeded }
    /// The results of the branch that ran, in order.
    public var responses: [TxnOpResponse] { raw.responses.compactMap(TxnOpResponse.init) }
}
