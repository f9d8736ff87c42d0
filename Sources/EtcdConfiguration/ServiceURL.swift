import Foundation

/// A URL a member listens on or advertises, as etcd takes them: `scheme://host:port`.
public struct ServiceURL: Hashable, Sendable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// The host, without brackets for IPv6.
    public let host: String
    /// The port.
    public let port: Int
    /// The URL exactly as given, which is what etcd stores and hashes.
    public let text: String

    /// The URL as given.
    public var description: String { text }

    /// Parses `scheme://host:port`; `flag` names the option in error messages.
    public init(_ text: String, flag: String) throws {
        guard let separator = text.range(of: "://") else {
            throw ConfigError("--\(flag): \"\(text)\" is not a URL (expected scheme://host:port)")
        }
        let scheme = String(text[..<separator.lowerBound])
        guard scheme == "http" || scheme == "https" else {
            throw ConfigError("--\(flag): URL scheme must be http or https in \"\(text)\"")
        }
        var authority = String(text[separator.upperBound...])
        if authority.hasSuffix("/") { authority.removeLast() }
        let host: String
        let portText: String
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw ConfigError("--\(flag): \"\(text)\" must be \"host:port\" (missing port in address)")
            }
            portText = String(rest.dropFirst())
        } else {
            guard let colon = authority.lastIndex(of: ":") else {
                throw ConfigError("--\(flag): \"\(text)\" must be \"host:port\" (missing port in address)")
            }
            host = String(authority[..<colon])
            portText = String(authority[authority.index(after: colon)...])
        }
        guard !host.isEmpty, !host.contains("/"), let port = Int(portText), (0...65535).contains(port) else {
            throw ConfigError("--\(flag): \"\(text)\" must be \"host:port\" with a port from 0 to 65535")
        }
        self.scheme = scheme
        self.host = host
        self.port = port
        self.text = text
    }

    /// `host:port`, the form etcdctl endpoints use.
    public var hostPort: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses a comma-separated list of URLs.
    public static func list(_ text: String, flag: String) throws -> [ServiceURL] {
        try text.split(separator: ",").map { try ServiceURL(String($0), flag: flag) }
    }
}

/// A configuration the server cannot start with; the message says what to change.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// What is wrong, in etcd's words where etcd has them.
    public let message: String
    /// The error saying `message`.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
