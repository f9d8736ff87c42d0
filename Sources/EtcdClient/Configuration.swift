import Foundation

extension EtcdClient {
    /// How a client connects: endpoints, timeouts, security and credentials.
    ///
    /// ```swift
    /// var config = EtcdClient.Configuration(endpoints: ["10.0.0.1:2379", "10.0.0.2:2379"])
    /// config.dialTimeout = .seconds(2)
    /// config.requestTimeout = .seconds(5)
    /// config.credentials = .init(username: "app", password: "secret")
    /// let client = try EtcdClient(configuration: config)
    /// ```
    public struct Configuration: Sendable {
        /// The members to talk to, as `host:port`, `http://host:port` or `https://host:port`.
        /// Requests go to one endpoint at a time; when it fails, the client moves on to the next.
        public var endpoints: [String]
        /// How long establishing a connection to one endpoint may take before the client tries
        /// the next one.
        public var dialTimeout: Duration = .seconds(2)
        /// The default deadline of a unary request, retries included; `nil` for none.
        public var requestTimeout: Duration? = .seconds(5)
        /// The interval of HTTP/2 keepalive pings; a connection that does not answer within
        /// ``keepAliveTimeout`` is closed (and watches move to another endpoint).
        public var keepAliveTime: Duration = .seconds(2)
        /// How long to wait for a keepalive ping's answer.
        public var keepAliveTimeout: Duration = .seconds(6)
        /// TLS settings; `nil` means plaintext unless an endpoint is `https://`.
        public var tls: TLS?
        /// Username and password; the client fetches a token and refreshes it when the server
        /// rejects it.
        public var credentials: Credentials?
        /// Whether failed idempotent requests (reads, lease and member queries, ...) are retried
        /// on the next endpoint. Writes are retried only when they surely never reached a server.
        public var retryIdempotentRequests = true
        /// The largest response message accepted, in bytes.
        public var maxResponseBytes = Int(Int32.max)
        /// The largest request message sent, in bytes (etcd's client default is 2 MiB).
        public var maxRequestBytes = 2 * 1024 * 1024

        public init(endpoints: [String]) {
            self.endpoints = endpoints
        }

        /// TLS settings (PEM files).
        public struct TLS: Sendable {
            /// CA bundle that verifies the servers; `nil` uses the system's trust roots.
            public var trustedCAFile: String?
            /// Client certificate and key, for servers that require client certificates.
            public var certificateFile: String?
            public var keyFile: String?
            /// Skip verifying the server's certificate (testing only).
            public var insecureSkipVerify = false
            /// The name to verify the server certificate against (default: the endpoint host).
            public var serverName: String?

            public init(trustedCAFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
                        insecureSkipVerify: Bool = false, serverName: String? = nil) {
                self.trustedCAFile = trustedCAFile
                self.certificateFile = certificateFile
                self.keyFile = keyFile
                self.insecureSkipVerify = insecureSkipVerify
                self.serverName = serverName
            }
        }

        /// A user and password for etcd's authentication.
        public struct Credentials: Sendable, Hashable {
            public var username: String
            public var password: String
            public init(username: String, password: String) {
                self.username = username
                self.password = password
            }
        }
    }
}

/// One parsed endpoint.
struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// As given by the user (used in messages and as the key of its connection).
    var original: String
    var host: String
    var port: Int
    var secure: Bool
    /// A Unix domain socket path (`unix://path` or `unixs://path`).
    var unixPath: String?

    var description: String { original }

    /// Parses `host:port`, `scheme://host:port[/...]`, `[v6]:port`, `unix://path`.
    static func parse(_ text: String) throws -> Endpoint {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var secure = false
        if let range = rest.range(of: "://") {
            let scheme = rest[..<range.lowerBound].lowercased()
            rest = rest[range.upperBound...]
            switch scheme {
            case "http": secure = false
            case "https": secure = true
            case "unix", "unixs":
                return Endpoint(original: text, host: "", port: 0, secure: scheme == "unixs", unixPath: String(rest))
            default:
                throw EtcdError(kind: .other, code: .invalidArgument, message: "unsupported endpoint scheme \(scheme) in \(text)")
            }
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw EtcdError(kind: .other, code: .invalidArgument, message: "bad endpoint \(text)")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        let port: Int
        if let portText {
            guard let value = Int(portText), (0...65535).contains(value) else {
                throw EtcdError(kind: .other, code: .invalidArgument, message: "bad port in endpoint \(text)")
            }
            port = value
        } else {
            port = secure ? 443 : 80
        }
        if host.isEmpty { host = "localhost" }
        return Endpoint(original: text, host: String(host), port: port, secure: secure, unixPath: nil)
    }
}
