import EtcdProto
import Foundation
import SwiftProtobuf

/// Decoding a normal log entry's payload at apply time. Decoding must never be the reason a
/// committed entry stops the member: every member would stop on it again at every restart.
/// The depth allowed here is deeper than any request the API accepts (`GRPCMessageBuffer`
/// and the JSON gateway allow 512 levels, and wrapping a request for the log adds one), so
/// a request that was accepted always decodes; anything else becomes an error answer.
enum LogEntryDecoding {
    static let maxMessageDepth = 1024

    static let options: BinaryDecodingOptions = {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = maxMessageDepth
        return options
    }()

    /// An entry's payload that did not decode: the proposal it answers (0 if unknown) and why.
    struct Undecodable: Error {
        let requestID: UInt64
        let reason: String
    }

    static func request(_ data: [UInt8]) -> Result<Swetcdpb_InternalRequest, Undecodable> {
        do {
            return .success(try Swetcdpb_InternalRequest(serializedBytes: data, options: options))
        } catch {
            return .failure(Undecodable(requestID: requestID(in: data) ?? 0, reason: "\(error)"))
        }
    }

    /// The proposal ID of a payload that does not decode as a whole, read straight from the
    /// wire format: field 1 (the header) holding field 1 (the ID). Nil when it is not there.
    static func requestID(in data: [UInt8]) -> UInt64? {
        var reader = WireReader(bytes: data[...])
        while let (field, wireType) = reader.tag() {
            if field == 1 && wireType == 2 {
                guard let header = reader.lengthDelimited() else { return nil }
                var inner = WireReader(bytes: header)
                while let (innerField, innerType) = inner.tag() {
                    if innerField == 1 && innerType == 0 { return inner.varint() }
                    guard inner.skip(wireType: innerType) else { return nil }
                }
                return nil
            }
            guard reader.skip(wireType: wireType) else { return nil }
        }
        return nil
    }
}

/// Just enough of protobuf's wire format to find one field; every read is bounds-checked.
private struct WireReader {
    var bytes: ArraySlice<UInt8>

    mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: UInt64(0), to: 64, by: 7) {
            guard let byte = bytes.popFirst() else { return nil }
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
        }
        return nil
    }

    mutating func tag() -> (field: UInt64, wireType: UInt64)? {
        guard !bytes.isEmpty, let key = varint() else { return nil }
        return (key >> 3, key & 7)
    }

    mutating func lengthDelimited() -> ArraySlice<UInt8>? {
        guard let length = varint(), length <= UInt64(bytes.count) else { return nil }
        let body = bytes.prefix(Int(length))
        bytes = bytes.dropFirst(Int(length))
        return body
    }

    mutating func skip(wireType: UInt64) -> Bool {
        switch wireType {
        case 0: return varint() != nil
        case 1: return take(8)
        case 2: return lengthDelimited() != nil
        case 5: return take(4)
        default: return false
        }
    }

    private mutating func take(_ count: Int) -> Bool {
        guard bytes.count >= count else { return false }
        bytes = bytes.dropFirst(count)
        return true
    }
}
