import Foundation

/// Text formats of Go's standard library that etcdctl's output is made of: `%q`, `%x`, JSON
/// strings, durations, humanized sizes. Everything works on bytes, because keys and values need
/// not be UTF-8 and etcdctl prints them raw.
enum GoFormat {
    // MARK: - %q (strconv.Quote)

    /// Go's `strconv.Quote` of a byte string: printable runes as they are, `\a \b \f \n \r \t
    /// \v \\ \"`, other runes as `\uXXXX`/`\UXXXXXXXX`, invalid UTF-8 bytes as `\xXX`.
    static func quote(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x22]
        var index = 0
        while index < bytes.count {
            guard let (scalar, width) = decodeScalar(bytes, at: index) else {
                out += Array("\\x".utf8) + hexByte(bytes[index])
                index += 1
                continue
            }
            let original = bytes[index..<index + width]
            index += width
            switch scalar.value {
            case 0x22: out += Array("\\\"".utf8)
            case 0x5C: out += Array("\\\\".utf8)
            case 0x07: out += Array("\\a".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x0C: out += Array("\\f".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0x0B: out += Array("\\v".utf8)
            default:
                if isPrint(scalar) {
                    out += original
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += Array("\\x".utf8) + hexByte(UInt8(scalar.value))
                } else if scalar.value < 0x10000 {
                    out += Array(String(format: "\\u%04x", scalar.value).utf8)
                } else {
                    out += Array(String(format: "\\U%08x", scalar.value).utf8)
                }
            }
        }
        out.append(0x22)
        return out
    }

    static func quote(_ text: String) -> String {
        String(decoding: quote(Array(text.utf8)), as: UTF8.self)
    }

    /// Decodes one UTF-8 scalar at `index` as Go does (rejecting overlong forms and surrogates).
    static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let b0 = bytes[index]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        func cont(_ i: Int) -> UInt32? {
            guard index + i < bytes.count, bytes[index + i] & 0xC0 == 0x80 else { return nil }
            return UInt32(bytes[index + i] & 0x3F)
        }
        var value: UInt32
        var width: Int
        if b0 & 0xE0 == 0xC0 {
            guard let c1 = cont(1) else { return nil }
            value = UInt32(b0 & 0x1F) << 6 | c1
            width = 2
            if value < 0x80 { return nil }
        } else if b0 & 0xF0 == 0xE0 {
            guard let c1 = cont(1), let c2 = cont(2) else { return nil }
            value = UInt32(b0 & 0x0F) << 12 | c1 << 6 | c2
            width = 3
            if value < 0x800 || (0xD800...0xDFFF).contains(value) { return nil }
        } else if b0 & 0xF8 == 0xF0 {
            guard let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) else { return nil }
            value = UInt32(b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3
            width = 4
            if value < 0x10000 || value > 0x10FFFF { return nil }
        } else {
            return nil
        }
        guard let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, width)
    }

    /// An approximation of Go's `strconv.IsPrint`: letters, marks, numbers, punctuation,
    /// symbols and the ASCII space.
    static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return scalar.value >= 0x20 && scalar.value < 0x7F }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    static func hexByte(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
    }

    /// Lowercase hexadecimal of every byte.
    static func hex(_ bytes: [UInt8]) -> [UInt8] { bytes.flatMap(hexByte) }

    /// `%x` of an unsigned integer, optionally padded with spaces (`%16x`) or zeros (`%016x`).
    static func hex(_ value: UInt64, width: Int = 0, zeroPad: Bool = false) -> String {
        let digits = String(value, radix: 16)
        guard digits.count < width else { return digits }
        return String(repeating: zeroPad ? "0" : " ", count: width - digits.count) + digits
    }

    // MARK: - JSON (encoding/json)

    /// A JSON string as Go's `encoding/json` writes it (HTML-safe escapes, invalid UTF-8 as
    /// U+FFFD).
    static func jsonString(_ bytes: [UInt8]) -> String {
        var out = "\""
        var index = 0
        while index < bytes.count {
            guard let (scalar, width) = decodeScalar(bytes, at: index) else {
                out += "\\ufffd"
                index += 1
                continue
            }
            index += width
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x3C, 0x3E, 0x26, 0x2028, 0x2029: out += String(format: "\\u%04x", scalar.value)
            case 0..<0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func jsonString(_ text: String) -> String { jsonString(Array(text.utf8)) }

    /// `[]byte` in Go's JSON: standard base64 with padding.
    static func jsonBytes(_ data: Data) -> String { "\"" + data.base64EncodedString() + "\"" }

    // MARK: - Sizes and durations

    /// github.com/dustin/go-humanize's `Bytes`: SI units, one decimal below 10.
    static func humanizeBytes(_ size: UInt64) -> String {
        if size < 10 { return "\(size) B" }
        let sizes = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        let exponent = floor(log(Double(size)) / log(1000))
        let suffix = sizes[Int(exponent)]
        let value = floor(Double(size) / pow(1000, exponent) * 10 + 0.5) / 10
        return value < 10 ? String(format: "%.1f %@", value, suffix) : String(format: "%.0f %@", value, suffix)
    }

    /// Go's `time.Duration.String()` (`1.5s`, `2m0s`, `350.123µs`).
    static func duration(nanoseconds: Int64) -> String {
        if nanoseconds == 0 { return "0s" }
        let negative = nanoseconds < 0
        let u = nanoseconds.magnitude
        var text: String
        if u < 1_000_000_000 {
            let (unit, scale): (String, UInt64) =
                u < 1_000 ? ("ns", 1) : u < 1_000_000 ? ("µs", 1_000) : ("ms", 1_000_000)
            text = fraction(u, scale) + unit
        } else {
            var seconds = u / 1_000_000_000
            let remainder = u % 1_000_000_000
            var parts = fraction(UInt64(seconds % 60) * 1_000_000_000 + remainder, 1_000_000_000) + "s"
            seconds /= 60
            if seconds > 0 {
                parts = "\(seconds % 60)m" + parts
                seconds /= 60
                if seconds > 0 { parts = "\(seconds)h" + parts }
            }
            text = parts
        }
        return negative ? "-" + text : text
    }

    /// `value / scale` with the fraction's trailing zeros removed.
    private static func fraction(_ value: UInt64, _ scale: UInt64) -> String {
        let whole = value / scale
        var rest = value % scale
        guard rest != 0 else { return "\(whole)" }
        var digits = ""
        var divisor = scale / 10
        while divisor > 0 {
            digits.append(Character(String(rest / divisor)))
            rest %= divisor
            divisor /= 10
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// Go's `time.ParseDuration`, with its error messages.
    static func parseDuration(_ text: String) throws(GoError) -> Int64 {
        let original = text
        var chars = Array(text.unicodeScalars)
        var negative = false
        if let first = chars.first, first == "-" || first == "+" {
            negative = first == "-"
            chars.removeFirst()
        }
        if chars.count == 1 && chars[0] == "0" { return 0 }
        if chars.isEmpty { throw GoError("time: invalid duration " + quote(original)) }
        let units: [String: Double] = [
            "ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
        ]
        var total: Double = 0
        var index = 0
        while index < chars.count {
            let start = index
            while index < chars.count, chars[index].properties.numericType != nil, chars[index].isASCII { index += 1 }
            var number = String(String.UnicodeScalarView(chars[start..<index]))
            if index < chars.count, chars[index] == "." {
                index += 1
                let fractionStart = index
                while index < chars.count, ("0"..."9").contains(chars[index]) { index += 1 }
                number += "." + String(String.UnicodeScalarView(chars[fractionStart..<index]))
            }
            if number.isEmpty || number == "." { throw GoError("time: invalid duration " + quote(original)) }
            let unitStart = index
            while index < chars.count, chars[index] != ".", !("0"..."9").contains(chars[index]) { index += 1 }
            let unit = String(String.UnicodeScalarView(chars[unitStart..<index]))
            if unit.isEmpty { throw GoError("time: missing unit in duration " + quote(original)) }
            guard let scale = units[unit] else {
                throw GoError("time: unknown unit " + quote(unit) + " in duration " + quote(original))
            }
            total += (Double(number) ?? 0) * scale
        }
        if total > Double(Int64.max) { throw GoError("time: invalid duration " + quote(original)) }
        return negative ? -Int64(total) : Int64(total)
    }

    // MARK: - strconv

    /// `strconv.ParseInt(text, base, 64)`; base 0 accepts `0x`, `0o`, `0b`, leading-zero octal
    /// and underscores, as pflag's integer flags do.
    static func parseInt(_ text: String, base: Int = 10, bitSize: Int = 64, function: String = "ParseInt")
        throws(GoError) -> Int64
    {
        let syntax = GoError("strconv.\(function): parsing \(quote(text)): invalid syntax")
        var body = Substring(text)
        var negative = false
        if body.hasPrefix("+") || body.hasPrefix("-") {
            negative = body.hasPrefix("-")
            body = body.dropFirst()
        }
        guard let magnitude = try parseUnsignedBody(body, base: base, syntax: syntax) else {
            throw GoError("strconv.\(function): parsing \(quote(text)): value out of range")
        }
        let limit: UInt64 = bitSize == 64 ? UInt64(Int64.max) : (1 << UInt64(bitSize - 1)) - 1
        if negative {
            guard magnitude <= limit + 1 else { throw GoError("strconv.\(function): parsing \(quote(text)): value out of range") }
            return magnitude == limit + 1 ? (bitSize == 64 ? Int64.min : -Int64(magnitude)) : -Int64(magnitude)
        }
        guard magnitude <= limit else { throw GoError("strconv.\(function): parsing \(quote(text)): value out of range") }
        return Int64(magnitude)
    }

    /// `strconv.ParseUint(text, base, 64)`.
    static func parseUInt(_ text: String, base: Int = 10) throws(GoError) -> UInt64 {
        let syntax = GoError("strconv.ParseUint: parsing \(quote(text)): invalid syntax")
        guard let value = try parseUnsignedBody(Substring(text), base: base, syntax: syntax) else {
            throw GoError("strconv.ParseUint: parsing \(quote(text)): value out of range")
        }
        return value
    }

    /// Digits in `base` (0: by prefix); nil on overflow.
    private static func parseUnsignedBody(_ text: Substring, base: Int, syntax: GoError) throws(GoError) -> UInt64? {
        var body = text
        var base = base
        var underscoresOK = false
        if body.isEmpty { throw syntax }
        if base == 0 {
            base = 10
            underscoresOK = true
            let lower = body.lowercased()
            if lower.hasPrefix("0x") {
                base = 16
                body = body.dropFirst(2)
            } else if lower.hasPrefix("0o") {
                base = 8
                body = body.dropFirst(2)
            } else if lower.hasPrefix("0b") {
                base = 2
                body = body.dropFirst(2)
            } else if body.hasPrefix("0") && body.count > 1 {
                base = 8
                body = body.dropFirst()
            }
        }
        var value: UInt64 = 0
        var overflow = false
        var sawDigit = false
        var previousUnderscore = false
        for char in body {
            if char == "_" && underscoresOK {
                if previousUnderscore { throw syntax }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            guard let digit = char.hexDigitValue, digit < base else { throw syntax }
            sawDigit = true
            let (m, o1) = value.multipliedReportingOverflow(by: UInt64(base))
            let (a, o2) = m.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { overflow = true }
            value = a
        }
        if !sawDigit || previousUnderscore { throw syntax }
        return overflow ? nil : value
    }

    /// `strconv.ParseBool`.
    static func parseBool(_ text: String) throws(GoError) -> Bool {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": return true
        case "0", "f", "F", "FALSE", "false", "False": return false
        default: throw GoError("strconv.ParseBool: parsing \(quote(text)): invalid syntax")
        }
    }
}

/// An error whose text is the message Go would print.
struct GoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
