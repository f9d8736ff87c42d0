import Foundation
import LeanGRPC
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
        options.messageDepthLimit = GRPCMessageBuffer.maxMessageDepth
        return options
    }()

    /// Go's encoding/json refuses a text nested deeper than this before decoding any of it.
    static let maxDepth = 10_000

    /// Decodes a request; an empty body is the empty message, as in grpc-gateway.
    package static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from text: Substring) throws -> M {
        let trimmed = text.drop { $0.isWhitespace }
        guard let first = trimmed.first else { return M() }
        if first != "{" {
            // Go's encoding/json wording, which etcd's gateway passes on.
            throw GatewayError.badRequest("invalid character '\(first)' looking for beginning of value")
        }
        try checkDepth(trimmed)
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

    /// Throws Go's error for the first `{` or `[` nested deeper than `maxDepth` (a decoder
    /// that recursed that deep could run out of stack).
    static func checkDepth(_ text: Substring) throws {
        var scanner = JSONBracketScanner()
        var depth = 0
        for byte in text.utf8 {
            switch scanner.bracket(byte) {
            case .open?:
                depth += 1
                if depth > maxDepth {
                    throw GatewayError.badRequest("invalid character '\(Character(Unicode.Scalar(byte)))' exceeded max depth")
                }
            case .close?: depth -= 1
            case nil: break
            }
        }
    }

    /// The top-level JSON objects of a body, in order (a streaming request may send several).
    package static func objects(in body: String) -> [Substring] {
        var objects: [Substring] = []
        var scanner = JSONBracketScanner()
        var depth = 0
        var start: String.Index?
        for index in body.utf8.indices {
            let byte = body.utf8[index]
            guard let bracket = scanner.bracket(byte), byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") else { continue }
            switch bracket {
            case .open:
                if depth == 0 { start = index }
                depth += 1
            case .close:
                depth -= 1
                if depth == 0, let begin = start {
                    objects.append(body[begin...index])
                    start = nil
                }
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

/// Finds the brackets of a JSON text byte by byte, skipping those inside strings.
struct JSONBracketScanner {
    enum Bracket { case open, close }

    private var inString = false
    private var escaped = false

    /// Whether `byte`, the next of the text, opens or closes an object or array.
    mutating func bracket(_ byte: UInt8) -> Bracket? {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
            return nil
        }
        switch byte {
        case UInt8(ascii: "\""): inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["): return .open
        case UInt8(ascii: "}"), UInt8(ascii: "]"): return .close
        default: break
        }
        return nil
    }
}
