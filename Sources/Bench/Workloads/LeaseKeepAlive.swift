import ArgumentParser
import EtcdProto
import Foundation

/// `lease-keepalive`: every client grants a lease, opens a keep-alive stream and renews
/// the lease over it, one request and its response at a time, `--total` renewals in all.
public struct LeaseKeepAliveCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lease-keepalive", abstract: "Benchmark lease keep-alive.")

    @OptionGroup public var connection: ConnectionOptions
    @OptionGroup public var load: LoadOptions

    public init() {}

    public func execute() async throws {
        let pool = try await connection.openPool()
        let clients = connection.clients
        // Grant and open first: the loop times renewals only.
        var streams: [BidiStream<Etcdserverpb_LeaseKeepAliveRequest, Etcdserverpb_LeaseKeepAliveResponse>] = []
        var renewals: [Etcdserverpb_LeaseKeepAliveRequest] = []
        for client in 0..<clients {
            let connection = pool.connection(forClient: client)
            var grant = Etcdserverpb_LeaseGrantRequest()
            grant.ttl = 100
            var renewal = Etcdserverpb_LeaseKeepAliveRequest()
            renewal.id = try await connection.leaseGrant(grant).id
            renewals.append(renewal)
            streams.append(connection.keepAliveStream())
        }
        let (openStreams, requests) = (streams, renewals)
        let result = await LoadRunner.run(clients: clients, total: load.total, rate: load.limiter) { client, _ in
            try openStreams[client].send(requests[client])
            guard let response = try await openStreams[client].next() else {
                throw BenchError.failed("keep-alive stream ended")
            }
            if response.ttl <= 0 { throw BenchError.failed("lease \(response.id) not found") }
            return 0
        }
        for stream in streams { stream.cancel() }
        await pool.close()
        let report = BenchReport(
            benchmark: "lease-keepalive", parameters: connection.parameters.merging(load.parameters) { $1 },
            requests: result.requestCount, errors: result.errorCount, errorMessages: result.errorMessages,
            durationSeconds: result.durationSeconds, latency: LatencySummary(nanoseconds: result.allLatencies))
        emit(report, json: connection.json)
    }
}
