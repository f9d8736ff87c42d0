import Foundation
import NIOCore
import SwiftProtobuf

/// JSON in protobuf's canonical mapping as etcd's gateway speaks it: proto field names,
/// 64-bit integers as strings, bytes as base64, unknown request fields ignored. `package`
/// for the gateway fuzz target (Tests/Fuzz).
package enum GatewayJSON {
    static let encoding: JSONEncodingOptions = {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return options
    }()

    static let decoding: JSONDecodingOptions = {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        return options
    }()

    /// Decodes a request; an empty body is the empty message, as in grpc-gateway.
    package static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from text: Substring) throws -> M {
        let trimmed = text.drop { $0.isWhitespace }
        guard let first = trimmed.first else { return M() }
        if first != "{" {
            // Go's encoding/json wording, which etcd's gateway passes on.
            throw GatewayError.badRequest("invalid character '\(first)' looking for beginning of value")
        }
        do {
            return try M(jsonString: String(trimmed), options: decoding)
        } catch {
            throw GatewayError.badRequest("cannot decode JSON for \(M.protoMessageName): \(readable(error))")
        }
    }

    /// SwiftProtobuf's decoding errors print as case names (`malformedNumber`,
    /// `unknownField("x")`); spelled out as words they tell the user what to fix.
    static func readable(_ error: any Error) -> String {
        var words = ""
        for character in String(describing: error) {
            if character.isUppercase {
                words += " " + character.lowercased()
            } else {
                words.append(character)
            }
        }
        return words
    }

    package static func encode(_ message: some SwiftProtobuf.Message) -> String {
        (try? message.jsonString(options: encoding)) ?? "{}"
    }

    /// A streamed message, as grpc-gateway frames it.
    static func result(_ message: some SwiftProtobuf.Message) -> String {
        #"{"result":\#(encode(message))}"# + "\n"
    }

    /// The top-level JSON objects of a body, in order (a streaming request may send several).
    package static func objects(in body: String) -> [Substring] {
        var objects: [Substring] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start: String.Index?
        for index in body.indices {
            let character = body[index]
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
                continue
            }
            switch character {
            case "\"": inString = true
            case "{":
                if depth == 0 { start = index }
                depth += 1
            case "}":
                depth -= 1
                if depth == 0, let begin = start {
                    objects.append(body[begin...index])
                    start = nil
                }
            default: break
            }
        }
        return objects
    }

    /// `string` as a JSON string literal.
    package static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
