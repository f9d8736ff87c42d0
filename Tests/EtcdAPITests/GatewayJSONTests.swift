import EtcdProto
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

    @Test func caseNamesBecomeWords() {
        struct Sample: Error, CustomStringConvertible { var description: String { "unknownField" } }
        #expect(GatewayJSON.readable(Sample()) == "unknown field")
    }
}
