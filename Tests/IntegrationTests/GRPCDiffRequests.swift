// Request builders of the gRPC differential scenario.
import EtcdProto
import Foundation

func bytes(_ text: String) -> Data { Data(text.utf8) }

func rangeRequest(_ key: String, _ end: String? = nil, _ configure: (inout Etcdserverpb_RangeRequest) -> Void = { _ in }) -> Etcdserverpb_RangeRequest {
    var request = Etcdserverpb_RangeRequest()
    request.key = bytes(key)
    if let end { request.rangeEnd = bytes(end) }
    configure(&request)
    return request
}

func putRequest(_ key: String, _ value: String) -> Etcdserverpb_PutRequest {
    var request = Etcdserverpb_PutRequest()
    request.key = bytes(key)
    request.value = bytes(value)
    return request
}

func deleteRequest(_ key: String, _ end: String? = nil) -> Etcdserverpb_DeleteRangeRequest {
    var request = Etcdserverpb_DeleteRangeRequest()
    request.key = bytes(key)
    if let end { request.rangeEnd = bytes(end) }
    return request
}

func compare(_ key: String, _ result: Etcdserverpb_Compare.CompareResult,
                     _ union: Etcdserverpb_Compare.OneOf_TargetUnion, end: String? = nil) -> Etcdserverpb_Compare {
    var compare = Etcdserverpb_Compare()
    compare.key = bytes(key)
    compare.result = result
    compare.targetUnion = union
    switch union {
    case .version: compare.target = .version
    case .createRevision: compare.target = .create
    case .modRevision: compare.target = .mod
    case .value: compare.target = .value
    case .lease: compare.target = .lease
    }
    if let end { compare.rangeEnd = bytes(end) }
    return compare
}

func rangeOp(_ key: String, _ end: String? = nil, revision: Int64 = 0, countOnly: Bool = false) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestRange = rangeRequest(key, end) { $0.revision = revision; $0.countOnly = countOnly }
    return op
}

func putOp(_ key: String, _ value: String, prevKV: Bool = false) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestPut = putRequest(key, value)
    op.requestPut.prevKv = prevKV
    return op
}

func deleteOp(_ key: String, _ end: String? = nil, prevKV: Bool = false) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestDeleteRange = deleteRequest(key, end)
    op.requestDeleteRange.prevKv = prevKV
    return op
}

func txnRequest(_ compares: [Etcdserverpb_Compare], success: [Etcdserverpb_RequestOp] = [],
                failure: [Etcdserverpb_RequestOp] = []) -> Etcdserverpb_TxnRequest {
    var request = Etcdserverpb_TxnRequest()
    request.compare = compares
    request.success = success
    request.failure = failure
    return request
}

func txnOp(_ compares: [Etcdserverpb_Compare], success: [Etcdserverpb_RequestOp] = [],
           failure: [Etcdserverpb_RequestOp] = []) -> Etcdserverpb_RequestOp {
    var op = Etcdserverpb_RequestOp()
    op.requestTxn = txnRequest(compares, success: success, failure: failure)
    return op
}

func grantRequest(_ id: Int64, _ ttl: Int64) -> Etcdserverpb_LeaseGrantRequest {
    var request = Etcdserverpb_LeaseGrantRequest()
    request.id = id
    request.ttl = ttl
    return request
}

func revokeRequest(_ id: Int64) -> Etcdserverpb_LeaseRevokeRequest {
    var request = Etcdserverpb_LeaseRevokeRequest()
    request.id = id
    return request
}

func ttlRequest(_ id: Int64, keys: Bool) -> Etcdserverpb_LeaseTimeToLiveRequest {
    var request = Etcdserverpb_LeaseTimeToLiveRequest()
    request.id = id
    request.keys = keys
    return request
}

func keepAliveRequest(_ id: Int64) -> Etcdserverpb_LeaseKeepAliveRequest {
    var request = Etcdserverpb_LeaseKeepAliveRequest()
    request.id = id
    return request
}

func watchCreate(_ key: String, _ end: String? = nil, start: Int64 = 0, id: Int64 = 0,
                         _ configure: (inout Etcdserverpb_WatchCreateRequest) -> Void = { _ in }) -> Etcdserverpb_WatchRequest {
    var create = Etcdserverpb_WatchCreateRequest()
    create.key = bytes(key)
    if let end { create.rangeEnd = bytes(end) }
    create.startRevision = start
    create.watchID = id
    configure(&create)
    var request = Etcdserverpb_WatchRequest()
    request.createRequest = create
    return request
}
