import Foundation
import Logging

/// Writes one JSON object per line to stderr, shaped like etcd's zap logs:
/// `{"level":"info","ts":"…","caller":"file:line","msg":"…", …fields}`.
/// Operators' scripts and test harnesses grep these lines (e.g. for "ready to serve client requests").
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    private static let lock = NSLock()

    init(level: Logger.Level) {
        logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = "{\"level\":\"\(Self.levelName(event.level))\",\"ts\":\"\(Self.timestamp())\""
        let file = event.file.split(separator: "/").suffix(2).joined(separator: "/")
        line += ",\"caller\":\(Self.quoted("\(file):\(event.line)")),\"msg\":\(Self.quoted(event.message.description))"
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        for key in fields.keys.sorted() {
            line += ",\(Self.quoted(key)):\(Self.json(fields[key]!))"
        }
        line += "}\n"
        Self.lock.lock()
        FileHandle.standardError.write(Data(line.utf8))
        Self.lock.unlock()
    }

    /// etcd's (zap's) level names.
    private static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: return "debug"
        case .info, .notice: return "info"
        case .warning: return "warn"
        case .error: return "error"
        case .critical: return "fatal"
        }
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var time = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &time)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", time.tm_year + 1900, time.tm_mon + 1, time.tm_mday,
            time.tm_hour, time.tm_min, time.tm_sec, now.tv_nsec / 1_000_000)
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let string): return quoted(string)
        case .stringConvertible(let convertible): return quoted(convertible.description)
        case .array(let values): return "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            return "{" + dictionary.keys.sorted().map { "\(quoted($0)):\(json(dictionary[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    private static func quoted(_ string: String) -> String {
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

extension Logger.Level {
    /// The swift-log level for etcd's `--log-level` names.
    init(etcdName: String) {
        switch etcdName {
        case "debug": self = .debug
        case "warn": self = .warning
        case "error": self = .error
        case "dpanic", "panic", "fatal": self = .critical
        default: self = .info
        }
    }
}
