/// The `grpc-message` header's encoding: printable ASCII except `%` as is, every other
/// byte of the UTF-8 text as `%XX`.
public enum GRPCMessageText {
    public static func encode(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { !isPlain($0) }) else { return text }
        var encoded = ""
        encoded.reserveCapacity(utf8.count + 8)
        for byte in utf8 {
            if isPlain(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%"
                encoded += hexDigits[Int(byte >> 4)]
                encoded += hexDigits[Int(byte & 0x0F)]
            }
        }
        return encoded
    }

    public static func decode(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let hexDigits = (0..<16).map { String($0, radix: 16, uppercase: true) }

    private static func isPlain(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%")
    }
}
