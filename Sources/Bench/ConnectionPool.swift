import Foundation

/// `conns` connections spread round-robin over the endpoints, and `clients` client slots
/// spread round-robin over the connections (etcd's benchmark does the same).
public struct ConnectionPool: Sendable {
    /// The connections, in endpoint round-robin order.
    public let connections: [BenchConnection]

    /// Opens `count` connections; connection `i` goes to `endpoints[i % endpoints.count]`.
    public init(endpoints: [Endpoint], count: Int, transport: TransportKind, tls: BenchTLS? = nil, user: BenchUser? = nil) async throws {
        precondition(!endpoints.isEmpty && count > 0)
        var connections: [BenchConnection] = []
        for index in 0..<count {
            let connection = try await BenchConnection(endpoint: endpoints[index % endpoints.count], transport: transport, tls: tls)
            if let user { try await connection.authenticate(user) }
            connections.append(connection)
        }
        self.connections = connections
    }

    /// The connection client `index` uses.
    @inlinable
    public func connection(forClient index: Int) -> BenchConnection {
        connections[index % connections.count]
    }

    /// Makes sure every connection works (in parallel).
    public func warmUp() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in connections {
                group.addTask { try await connection.warmUp() }
            }
            try await group.waitForAll()
        }
    }

    /// Closes every connection.
    public func close() async {
        await withTaskGroup(of: Void.self) { group in
            for connection in connections {
                group.addTask { await connection.close() }
            }
        }
    }

    /// Finds the leader's client endpoints: asks each endpoint's status for the leader id,
    /// then the member list for that member's client URLs.
    public static func leaderEndpoints(
        among endpoints: [Endpoint], transport: TransportKind, tls: BenchTLS? = nil
    ) async throws -> [Endpoint] {
        for endpoint in endpoints {
            guard let connection = try? await BenchConnection(endpoint: endpoint, transport: transport, tls: tls) else { continue }
            let found = try? await leaderClientEndpoints(asking: connection)
            await connection.close()
            if let found, !found.isEmpty { return found }
        }
        throw BenchError.failed("no endpoint could name the leader's client URLs")
    }

    private static func leaderClientEndpoints(asking connection: BenchConnection) async throws -> [Endpoint] {
        let status = try await connection.status()
        guard status.leader != 0 else { return [] }
        let members = try await connection.memberList().members
        guard let leader = members.first(where: { $0.id == status.leader }) else { return [] }
        return leader.clientUrls.compactMap(Endpoint.init(parsing:))
    }
}
