import Foundation

/// One etcd client endpoint, `host:port`, `http://host:port` or `https://host:port`.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// Host name or IPv4/IPv6 address, without brackets.
    public var host: String
    /// TCP port.
    public var port: Int
    /// Whether the endpoint was given as `https://` (TLS even without TLS flags).
    public var secure = false

    /// Creates an endpoint from its parts.
    public init(host: String, port: Int, secure: Bool = false) {
        self.host = host
        self.port = port
        self.secure = secure
    }

    /// Parses `host:port`, `http://host:port`, `https://host:port` or `[v6addr]:port`; nil
    /// when malformed.
    public init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        let secure = rest.hasPrefix("https://")
        if secure { rest = rest.dropFirst("https://".count) }
        if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let hostPart: Substring
        let portPart: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            portPart = after.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":") else { return nil }
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (1...65535).contains(port) else { return nil }
        self.init(host: String(hostPart), port: port, secure: secure)
    }

    /// Parses a comma-separated list of endpoints; nil when any is malformed or none is given.
    public static func parseList(_ text: String) -> [Endpoint]? {
        let parts = text.split(separator: ",").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !parts.isEmpty else { return nil }
        var endpoints: [Endpoint] = []
        for part in parts {
            guard let endpoint = Endpoint(parsing: part) else { return nil }
            endpoints.append(endpoint)
        }
        return endpoints
    }

    /// True when `host` is a dotted IPv4 address.
    var isIPv4: Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
