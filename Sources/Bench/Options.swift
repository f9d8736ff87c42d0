import ArgumentParser
import Foundation

/// Options every networked benchmark takes: where to connect, how many connections and
/// concurrent clients, how to print.
public struct ConnectionOptions: ParsableArguments, Sendable {
    /// Comma-separated `host:port` list; connections go round-robin over it.
    @Option(help: "gRPC endpoints, comma-separated host:port (http:// accepted).")
    public var endpoints: String = "127.0.0.1:2379"

    /// Concurrent client tasks; client `i` uses connection `i % conns`.
    @Option(help: "Number of concurrent clients.")
    public var clients: Int = 1

    /// HTTP/2 connections, shared round-robin by the clients.
    @Option(help: "Number of gRPC connections.")
    public var conns: Int = 1

    /// Connect only to the leader (found through Status and MemberList).
    @Flag(name: .customLong("target-leader"), help: "Connect only to the leader member.")
    public var targetLeader = false

    /// Print one JSON object instead of the human-readable report.
    @Flag(help: "Print the report as one JSON object.")
    public var json = false

    /// The gRPC client implementation.
    @Option(help: "gRPC client: lean (raw HTTP/2 frames) or grpc-swift (grpc-swift-2's GRPCClient).")
    public var transport: TransportKind = .lean

    /// CA bundle the servers' certificates must chain to (TLS).
    @Option(help: "Verify certificates of TLS-enabled servers using this CA bundle.")
    public var cacert: String?

    /// Client certificate presented to TLS servers.
    @Option(help: "Identify secure client using this TLS certificate file.")
    public var cert: String?

    /// Its key.
    @Option(help: "Identify secure client using this TLS key file.")
    public var key: String?

    /// A user to authenticate as (`name:password`): each connection fetches a token once.
    @Option(help: "Username for authentication, as name:password.")
    public var user: String?

    /// Do not verify the servers' certificates.
    @Flag(name: .customLong("insecure-skip-tls-verify"), help: "Skip server certificate verification.")
    public var insecureSkipTLSVerify = false

    public init() {}

    public mutating func validate() throws {
        guard Endpoint.parseList(endpoints) != nil else {
            throw ValidationError("--endpoints: expected host:port[,host:port…], got '\(endpoints)'")
        }
        guard clients > 0 else { throw ValidationError("--clients must be positive") }
        guard conns > 0 else { throw ValidationError("--conns must be positive") }
        if let user, BenchUser(user) == nil { throw ValidationError("--user: expected name:password, got '\(user)'") }
    }

    /// The parsed endpoint list (validated already).
    public var endpointList: [Endpoint] { Endpoint.parseList(endpoints) ?? [] }

    /// TLS for the connections: when an endpoint is `https://` or a TLS file is given.
    public func makeTLS() throws -> BenchTLS? {
        guard endpointList.contains(where: \.secure) || cacert != nil || cert != nil || insecureSkipTLSVerify else { return nil }
        return try BenchTLS(trustedCAFile: cacert, certificateFile: cert, keyFile: key, skipVerify: insecureSkipTLSVerify)
    }

    /// Opens the pool (narrowed to the leader with `--target-leader`) and establishes
    /// every connection before anything is timed.
    public func openPool() async throws -> ConnectionPool {
        let tls = try makeTLS()
        var targets = endpointList
        if targetLeader { targets = try await ConnectionPool.leaderEndpoints(among: targets, transport: transport, tls: tls) }
        let pool = try await ConnectionPool(endpoints: targets, count: conns, transport: transport, tls: tls, user: user.flatMap(BenchUser.init))
        try await pool.warmUp()
        return pool
    }

    /// The settings as report parameters.
    public var parameters: [String: String] {
        ["endpoints": endpoints, "clients": String(clients), "conns": String(conns), "transport": transport.rawValue]
            .merging(targetLeader ? ["target_leader": "true"] : [:]) { $1 }
            .merging(cacert != nil || cert != nil || endpointList.contains(where: \.secure) ? ["tls": "true"] : [:]) { $1 }
            .merging(user.flatMap(BenchUser.init).map { ["user": $0.name] } ?? [:]) { $1 }
    }
}

/// A user and password to authenticate with.
public struct BenchUser: Sendable {
    public let name: String
    public let password: String

    /// Parses `name:password`.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return nil }
        name = String(text[..<colon])
        password = String(text[text.index(after: colon)...])
    }
}

/// How many requests, how fast.
public struct LoadOptions: ParsableArguments, Sendable {
    /// Requests to issue in all.
    @Option(help: "Total number of requests.")
    public var total: Int = 10000

    /// Cap on requests per second over all clients; 0 is no cap.
    @Option(help: "Maximum requests per second (0 is no limit).")
    public var rate: Int = 0

    public init() {}

    public mutating func validate() throws {
        guard total > 0 else { throw ValidationError("--total must be positive") }
        guard rate >= 0 else { throw ValidationError("--rate must not be negative") }
    }

    /// A limiter for `--rate`, nil when unlimited.
    public var limiter: RateLimiter? { rate > 0 ? RateLimiter(perSecond: rate) : nil }

    /// The settings as report parameters.
    public var parameters: [String: String] { ["total": String(total), "rate": String(rate)] }
}

/// Shape of the keys and values written.
public struct KeyValueOptions: ParsableArguments, Sendable {
    /// Bytes per key.
    @Option(help: "Key size in bytes.")
    public var keySize: Int = 8

    /// Bytes per value.
    @Option(help: "Value size in bytes.")
    public var valSize: Int = 8

    /// Use keys in order instead of at random.
    @Flag(help: "Use sequential keys.")
    public var sequentialKeys = false

    /// Number of distinct keys.
    @Option(help: "Maximum possible keys.")
    public var keySpaceSize: Int = 1

    public init() {}

    public mutating func validate() throws {
        guard valSize >= 0 else { throw ValidationError("--val-size must not be negative") }
        do {
            _ = try keyGenerator()
        } catch {
            throw ValidationError(String(describing: error))
        }
    }

    /// The generator these options describe.
    public func keyGenerator() throws -> KeyGenerator {
        try KeyGenerator(keySize: keySize, keySpaceSize: keySpaceSize, sequential: sequentialKeys)
    }

    /// The settings as report parameters.
    public var parameters: [String: String] {
        [
            "key_size": String(keySize), "val_size": String(valSize), "key_space_size": String(keySpaceSize),
            "sequential_keys": String(sequentialKeys),
        ]
    }
}

/// Read consistency of a range: linearizable (through the leader's read index) or
/// serializable (the member's local state).
public enum Consistency: String, ExpressibleByArgument, Sendable, CaseIterable {
    /// Linearizable.
    case l
    /// Serializable.
    case s
}

/// Prints `report` in the form the options ask for.
func emit(_ report: BenchReport, json: Bool) {
    print(json ? report.json() : report.humanReadable())
}
