import Foundation

/// One etcd client endpoint, `host:port` (an `http://` scheme is accepted and ignored).
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// Host name or IPv4/IPv6 address, without brackets.
    public var host: String
    /// TCP port.
    public var port: Int

    /// Creates an endpoint from its parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `http://host:port` or `[v6addr]:port`; nil when malformed.
    /// `https://` is refused: the benchmark speaks plaintext gRPC only.
    public init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest.hasPrefix("https://") { return nil }
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
        self.init(host: String(hostPart), port: port)
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
