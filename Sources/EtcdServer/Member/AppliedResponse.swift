import EtcdProto

/// A response that applying a log entry produces, found in its `ApplyResult`.
protocol AppliedResponse: Sendable {
    var header: Etcdserverpb_ResponseHeader { get set }
    /// The response in `applied`, nil when it holds another kind.
    init?(applied: ApplyResult)
}

extension Etcdserverpb_PutResponse: AppliedResponse {
    init?(applied: ApplyResult) {
        guard case .put(let response) = applied else { return nil }
        self = response
    }
}

extension Etcdserverpb_DeleteRangeResponse: AppliedResponse {
    init?(applied: ApplyResult) {
        guard case .deleteRange(let response) = applied else { return nil }
        self = response
    }
}

extension Etcdserverpb_TxnResponse: AppliedResponse {
    init?(applied: ApplyResult) {
        guard case .txn(let response) = applied else { return nil }
        self = response
    }
}

extension Etcdserverpb_CompactionResponse: AppliedResponse {
    init?(applied: ApplyResult) {
        guard case .compaction(let response) = applied else { return nil }
        self = response
    }
}

extension Etcdserverpb_LeaseGrantResponse: AppliedResponse {
    init?(applied: ApplyResult) {
        guard case .leaseGrant(let response) = applied else { return nil }
        self = response
    }
}

extension Etcdserverpb_LeaseRevokeResponse: AppliedResponse {
    init?(applied: ApplyResult) {
        guard case .leaseRevoke(let response) = applied else { return nil }
        self = response
    }
}
