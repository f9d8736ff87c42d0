import Dispatch
import EtcdAPI
import EtcdConfiguration
import EtcdServer
import Foundation
import Logging
import Metrics
import Prometheus

// swetcd: an etcd-compatible member. Takes etcd's flags (and ETCD_* variables), logs like
// etcd, serves the v3 API on --listen-client-urls.

let parser = ServerConfig.flags
let values: FlagParser.Values
do {
    values = try parser.parse(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
} catch {
    FileHandle.standardError.write(Data("\(error)\n\(parser.usage(command: "swetcd"))\n".utf8))
    exit(2)
}
if values.bool("help") {
    print(parser.usage(command: "swetcd"))
    exit(0)
}
if values.bool("version") {
    print("etcd Version: \(ServerVersion.server)\nswetcd Version: \(ServerVersion.swetcd)")
    exit(0)
}

let config: ServerConfig
do {
    config = try ServerConfig(values)
} catch {
    FileHandle.standardError.write(Data("swetcd: \(error)\n".utf8))
    exit(1)
}

LoggingSystem.bootstrap { _ in JSONLogHandler(level: Logger.Level(etcdName: config.logLevel)) }
let metricsRegistry = PrometheusCollectorRegistry()
var metricsFactory = PrometheusMetricsFactory(registry: metricsRegistry)
for name in ["etcd_disk_wal_fsync_duration_seconds", "etcd_disk_backend_commit_duration_seconds"] {
    // etcd's buckets for disk latencies: 1 ms doubling up to about 8 s.
    metricsFactory.durationHistogramBuckets[name] = (0..<14).map { .microseconds(1000 << $0) }
}
MetricsSystem.bootstrap(metricsFactory)
let logger = Logger(label: "swetcd")
for warning in config.deprecationWarnings { logger.warning(Logger.Message(stringLiteral: warning)) }
for variable in values.unrecognizedEnvironment {
    logger.warning("unrecognized environment variable", metadata: ["environment-variable": "\(variable)"])
}
// Like etcd: the client listeners are bound before the member starts (and served once it
// is ready), so a connection made as soon as the member logs anything waits, not fails.
logger.info("configuring client listeners", metadata: ["listen-client-urls": "\(config.listenClientURLs.map(\.text))"])
let listeners: ClientListeners
do {
    listeners = try ClientListeners.open(config, logger: logger)
} catch {
    logger.critical("failed to start etcd server", metadata: ["error": "\(error)"])
    FileHandle.standardError.write(Data("swetcd: \(error)\n".utf8))
    exit(1)
}
logger.info(
    "starting an etcd server",
    metadata: [
        "etcd-version": "\(ServerVersion.server)", "swetcd-version": "\(ServerVersion.swetcd)", "name": "\(config.name)",
        "data-dir": "\(config.dataDirectory)",
        "listen-client-urls": "\(config.listenClientURLs.map(\.text))",
        "advertise-client-urls": "\(config.advertiseClientURLs.map(\.text))",
        "initial-cluster": "\(config.initialCluster.map { "\($0.name)=\($0.peerURLs.map(\.text).joined(separator: ","))" })",
        "max-txn-ops": "\(config.maxTxnOps)", "max-request-bytes": "\(config.maxRequestBytes)",
    ])

let server: EtcdServer
do {
    server = try await EtcdServer.start(config: config, logger: logger)
} catch {
    logger.critical("failed to start etcd server", metadata: ["error": "\(error)"])
    FileHandle.standardError.write(Data("swetcd: \(error)\n".utf8))
    exit(1)
}

// SIGINT/SIGTERM: finish what is in flight, close the WAL and backend, exit cleanly.
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let signalQueue = DispatchQueue(label: "swetcd-signals")
let signalSources = [SIGINT, SIGTERM].map { number in
    let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
    // @Sendable: the handler runs on signalQueue. Without it the closure inherits the main
    // actor's isolation from this top-level code, and Swift 6's dynamic isolation check
    // crashes the process (SIGILL in dispatch_assert_queue) instead of shutting it down.
    source.setEventHandler { @Sendable in
        logger.info("received signal; shutting down", metadata: ["signal": "\(number == SIGINT ? "interrupt" : "terminated")"])
        SystemdNotify.send(SystemdNotify.stopping, logger: logger)
        server.stop()
        exit(0)
    }
    source.resume()
    return source
}

do {
    // Clients are served once the member published itself to the cluster, as in etcd.
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            // Ready for systemd (Type=notify) once every listener serves, as etcd notifies.
            try await ClientServer(server: server, logger: logger, metrics: { metricsRegistry.emitToString() }).run(
                on: listeners, onReady: { SystemdNotify.send(SystemdNotify.ready, logger: logger) })
        }
        group.addTask {
            // A member removed from the cluster stops itself; the process goes with it.
            while !server.isStopped { try await Task.sleep(for: .milliseconds(200)) }
        }
        try await group.next()
        group.cancelAll()
    }
    // Whoever began stopping the member (a signal, a failed listener, its removal from the
    // cluster), the process exits only once the WAL and the backend are closed.
    server.stop()
    exit(server.hasFailed ? 1 : 0)
} catch {
    logger.critical("client listener failed", metadata: ["error": "\(error)"])
    server.stop()
    exit(1)
}
