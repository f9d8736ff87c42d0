import EtcdAPI
import EtcdProto
import Foundation
import FuzzSupport
import SwiftProtobuf

/// The JSON gateway's request decoding: the first byte picks the request message, the rest
/// is the HTTP body, decoded (and an error or the message encoded back) as the gateway does.
enum GatewayJSONTarget: FuzzTarget {
    /// The messages the gateway decodes, by path.
    static var requests: [(path: String, type: any SwiftProtobuf.Message.Type)] {
        [
            ("kv/range", Etcdserverpb_RangeRequest.self), ("kv/put", Etcdserverpb_PutRequest.self),
            ("kv/deleterange", Etcdserverpb_DeleteRangeRequest.self), ("kv/txn", Etcdserverpb_TxnRequest.self),
            ("kv/compaction", Etcdserverpb_CompactionRequest.self), ("watch", Etcdserverpb_WatchRequest.self),
            ("lease/grant", Etcdserverpb_LeaseGrantRequest.self), ("lease/revoke", Etcdserverpb_LeaseRevokeRequest.self),
            ("lease/keepalive", Etcdserverpb_LeaseKeepAliveRequest.self),
            ("lease/timetolive", Etcdserverpb_LeaseTimeToLiveRequest.self),
            ("cluster/member/add", Etcdserverpb_MemberAddRequest.self),
            ("cluster/member/update", Etcdserverpb_MemberUpdateRequest.self),
            ("maintenance/hashkv", Etcdserverpb_HashKVRequest.self), ("maintenance/alarm", Etcdserverpb_AlarmRequest.self),
            ("lock/lock", V3lockpb_LockRequest.self), ("election/campaign", V3electionpb_CampaignRequest.self),
            ("election/proclaim", V3electionpb_ProclaimRequest.self),
        ]
    }

    static func run(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        let type = requests[Int(selector) % requests.count].type
        // The gateway reads the body with String(buffer:), which repairs invalid UTF-8 the same way.
        let body = String(decoding: input.dropFirst(), as: UTF8.self)
        // Streaming paths split the body into JSON objects first; unary ones decode it whole.
        for object in [Substring(body)] + GatewayJSON.objects(in: body) {
            roundTrip(type, object)
        }
    }

    private static func roundTrip<M: SwiftProtobuf.Message>(_ type: M.Type, _ text: Substring) {
        do {
            _ = GatewayJSON.encode(try GatewayJSON.decode(type, from: text))
        } catch {
            _ = GatewayJSON.quote("\(error)")
        }
    }

    static func seeds() throws -> [(name: String, input: [UInt8])] {
        let bodies: [(String, String)] = [
            ("kv/range", #"{"key":"Zm9v","range_end":"AA==","limit":"9223372036854775806","revision":"-1","sort_order":"DESCEND"}"#),
            ("kv/put", #"{"key":"Zm9v","value":"YmFy","lease":"7","prev_kv":true,"ignore_value":false}"#),
            ("kv/deleterange", #"{"key":"YQ==","range_end":"eg==","prev_kv":true}"#),
            ("kv/txn", #"{"compare":[{"key":"YQ==","target":"MOD","result":"GREATER","mod_revision":"1"}],"success":[{"request_txn":{"success":[{"request_put":{"key":"Yg==","value":"Mg=="}}]}}],"failure":[{"request_range":{"key":"YQ==","limit":"1"}}]}"#),
            ("kv/compaction", #"{"revision":"-5","physical":true}"#),
            ("watch", #"{"create_request":{"key":"YQ==","start_revision":"-1","filters":["NOPUT"],"prev_kv":true}}{"progress_request":{}}"#),
            ("lease/grant", #"{"TTL":"9223372036854775807","ID":"0"}"#),
            ("lease/keepalive", #"{"ID":"-1"}{"ID":"18446744073709551615"}"#),
            ("cluster/member/add", #"{"peerURLs":["http://127.0.0.1:2380"],"isLearner":true}"#),
            ("kv/range", #"{"key":"\u00e9\ud800","limit":1e308,"unknown_field":{"nested":[1,2,{}]}}"#),
        ]
        return bodies.enumerated().map { offset, seed in
            let selector = UInt8(requests.firstIndex { $0.path == seed.0 }!)
            return ("\(offset)-" + seed.0.replacingOccurrences(of: "/", with: "-"), [selector] + Array(seed.1.utf8))
        }
    }
}
