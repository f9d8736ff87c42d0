import EtcdProto
import Foundation
import Testing
@testable import EtcdServer

@Suite struct RequestValidationTests {
    /// etcd 3.4 crashed on a range with an unknown sort target; 3.5 and later refuse unknown
    /// sort values before anything else but the empty key.
    @Test func unknownSortValuesAreRefusedAfterTheEmptyKey() throws {
        var range = Etcdserverpb_RangeRequest()
        range.sortOrder = .UNRECOGNIZED(99)
        #expect(throws: EtcdError.emptyKey) { try RequestValidation.check(range) }
        range.key = Data("k".utf8)
        #expect(throws: EtcdError.invalidSortOption) { try RequestValidation.check(range) }
        range.sortOrder = .ascend
        range.sortTarget = .UNRECOGNIZED(9)
        #expect(throws: EtcdError.invalidSortOption) { try RequestValidation.check(range) }

        var op = Etcdserverpb_RequestOp()
        op.request = .requestRange(range)
        var txn = Etcdserverpb_TxnRequest()
        txn.success = [op]
        #expect(throws: EtcdError.invalidSortOption) { try RequestValidation.check(txn, maxTxnOps: 128) }
    }
}
