import EtcdProto
import NIOCore
import Testing
@testable import EtcdAPI

@Suite struct GatewayJSONTests {
    @Test func badFieldValuesAreExplainedInWords() throws {
        let error = try #require(throws: GatewayError.self) {
            try GatewayJSON.decode(Etcdserverpb_RangeRequest.self, from: #"{"revision":"abc"}"#)
        }
        let text = error.message
        #expect(text.contains("cannot decode JSON for etcdserverpb.RangeRequest: malformed number"), "\(text)")
        #expect(!text.contains("malformedNumber"))
    }

    @Test func notJSONAtAllKeepsGoWording() throws {
        let error = try #require(throws: GatewayError.self) {
            try GatewayJSON.decode(Etcdserverpb_RangeRequest.self, from: "xx")
        }
        #expect(error.message.contains("invalid character 'x' looking for beginning of value"))
    }

    @Test func emptyBodyIsTheEmptyMessage() throws {
        #expect(try GatewayJSON.decode(Etcdserverpb_PutRequest.self, from: "  ") == Etcdserverpb_PutRequest())
    }

    /// etcd's gateway (Go's encoding/json) refuses JSON nested past 10000 levels with 400.
    @Test func jsonNestedPastTheMaxDepthIsRefusedLikeEtcd() throws {
        func nested(_ depth: Int, open: String, close: String) -> Substring {
            Substring(#"{"key":"Zm9v","ignored":"# + String(repeating: open, count: depth) + String(repeating: close, count: depth) + "}")
        }
        for (open, close) in [("[", "]"), (#"{"a":"#, "}")] {
            let error = try #require(throws: GatewayError.self) {
                try GatewayJSON.decode(Etcdserverpb_PutRequest.self, from: nested(GatewayJSON.maxDepth, open: open, close: close))
            }
            let message = "invalid character '\(open.first!)' exceeded max depth"
            #expect(error.message == message)
            let response = error.response
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body) == #"{"error":"\#(message)","message":"\#(message)","code":3}"#)
        }
        // Brackets inside strings do not count.
        let quoted = Substring(#"{"ignored":""# + String(repeating: "[", count: GatewayJSON.maxDepth + 1) + #""}"#)
        #expect(throws: Never.self) { try GatewayJSON.decode(Etcdserverpb_PutRequest.self, from: quoted) }
    }

    @Test func caseNamesBecomeWords() {
        struct Sample: Error, CustomStringConvertible { var description: String { "unknownField" } }
        #expect(GatewayJSON.readable(Sample()) == "unknown field")
    }
}
