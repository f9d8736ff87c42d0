import ArgumentParser
import EtcdProto
import Foundation

/// `connect`: each request is a new connection (with TLS, a full handshake), one
/// serializable get on it, and its close: what a fleet of short-lived clients costs.
public struct ConnectCommand: BenchmarkCommand {
    public static let configuration = CommandConfiguration(
        commandName: "connect", abstract: "Benchmark new connections: connect (and handshake), one get, close.")

    @OptionGroup public var connection: ConnectionOptions
    @OptionGroup public var load: LoadOptions

    public init() {}

    public func execute() async throws {
        let tls = try connection.makeTLS()
        let endpoints = connection.endpointList
        let transport = connection.transport
        let request = Etcdserverpb_RangeRequest.with {
            $0.key = Data("swetcd-bench-connect".utf8)
            $0.serializable = true
        }
        let result = await LoadRunner.run(clients: connection.clients, total: load.total, rate: load.limiter) {
            _, index in
            let fresh = try await BenchConnection(endpoint: endpoints[index % endpoints.count], transport: transport, tls: tls)
            do {
                _ = try await fresh.range(request)
            } catch {
                await fresh.close()
                throw error
            }
            await fresh.close()
            return 0
        }
        let report = BenchReport(
            benchmark: "connect", parameters: connection.parameters.merging(load.parameters) { $1 },
            requests: result.requestCount, errors: result.errorCount, errorMessages: result.errorMessages,
            durationSeconds: result.durationSeconds, latency: LatencySummary(nanoseconds: result.allLatencies))
        emit(report, json: connection.json)
    }
}
