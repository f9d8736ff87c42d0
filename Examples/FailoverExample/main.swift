import EtcdClient
import Foundation

// Primary/standby failover with a Session and a Mutex.
//
// Several copies of a service run at once; only one may work at a time (say, the one parsing a
// database's binlog). Each copy keeps a session (a lease renewed in the background) and waits
// for a lock on the same prefix. The copy holding the lock is the primary; the others wait as
// standbys. When the primary dies its lease stops being renewed, the lock key disappears after
// the TTL, and the oldest standby takes over. Every write the primary makes is fenced: it only
// happens while the lock key it created is still there, so a primary that lost the lock
// without noticing (paused, cut off) cannot overwrite its successor's work.
//
//   swetcd-failover-example --name primary-1 --endpoints 127.0.0.1:2379,127.0.0.1:22379
//   swetcd-failover-example --name standby-2 --endpoints ...   (in another shell)
//   swetcd-failover-example --demo --endpoints ...              (three copies in one process;
//                                                                the primary "crashes")

struct Options {
    var endpoints = ["127.0.0.1:2379"]
    var name = "service-\(ProcessInfo.processInfo.processIdentifier)"
    var lock = "/root/lock"
    var ttl: Int64 = 2
    var demo = false

    init(_ arguments: [String]) {
        var args = arguments[...]
        func value() -> String {
            guard let next = args.first else { usage() }
            args = args.dropFirst()
            return next
        }
        while let arg = args.first {
            args = args.dropFirst()
            switch arg {
            case "--endpoints": endpoints = value().split(separator: ",").map(String.init)
            case "--name": name = value()
            case "--lock": lock = value()
            case "--ttl": ttl = Int64(value()) ?? { usage() }()
            case "--demo": demo = true
            default: usage()
            }
        }
    }

    func usage() -> Never {
        print("usage: swetcd-failover-example [--endpoints a,b,c] [--name NAME] [--lock PREFIX] [--ttl SECONDS] [--demo]")
        exit(2)
    }
}

/// One copy of the service.
struct Service {
    let name: String
    let client: EtcdClient
    let lockPrefix: String
    let ttl: Int64

    /// Waits to become primary, then works until the session is lost or `stop` returns.
    func run(until stop: @escaping @Sendable () async -> Void, session sessionBox: SessionBox? = nil) async throws {
        let session = try await Session(client: client, ttl: ttl)
        sessionBox?.set(session)
        let mutex = Mutex(session: session, prefix: lockPrefix)
        // Whatever comes first: the service's own end (session lost, fenced write refused) or
        // the stop signal. Cancelling a waiting `lock()` withdraws from the queue.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await stop() }
            group.addTask { await serve(session, mutex, sessionBox) }
            await group.next()
            group.cancelAll()
        }
        if session.isDone {
            log("session expired: no longer primary")
        } else {
            try? await mutex.unlock()
            try? await session.close()
            log("stepped down")
        }
    }

    private func serve(_ session: Session, _ mutex: Mutex, _ box: SessionBox?) async {
        log("standby, waiting for the lock (lease \(session.lease))")
        do {
            try await mutex.lock()
        } catch {
            return
        }
        log("primary now (fencing revision \(mutex.fencingRevision))")
        box?.markPrimary()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await session.done() }
            group.addTask {
                var round = 0
                while !Task.isCancelled {
                    round += 1
                    // The fenced write: applied only while our lock key still exists.
                    let value = EtcdBytes("\(name) round \(round) fence \(mutex.fencingRevision)")
                    guard let written = try? await client.kv.txn(if: [mutex.isOwner], then: [.put("/root/work", value)]),
                          written.succeeded
                    else {
                        log("lost the lock: the fenced write was refused")
                        return
                    }
                    log("working, round \(round)")
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    func log(_ message: String) {
        let time = Date().formatted(.iso8601.time(includingFractionalSeconds: true))
        // Unbuffered, so the interleaving of the services shows as it happens.
        FileHandle.standardOutput.write(Data("\(time) [\(name)] \(message)\n".utf8))
    }
}

/// Lets the demo find the primary's session to simulate its crash.
final class SessionBox: @unchecked Sendable {
    private let lock = NSLock()
    private var session: Session?
    private var primary = false
    func set(_ session: Session) { lock.withLock { self.session = session } }
    func markPrimary() { lock.withLock { primary = true } }
    /// The session, if this service is the primary.
    var primarySession: Session? { lock.withLock { primary ? session : nil } }
}

/// SIGINT or SIGTERM, once.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var sources: [DispatchSourceSignal] = []

    init() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { [weak self] in self?.fire() }
            source.resume()
            sources.append(source)
        }
    }

    private func fire() {
        let waiting = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            fired = true
            defer { waiters = [] }
            return waiters
        }
        waiting.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = lock.withLock { () -> Bool in
                if fired { return true }
                waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}


let options = Options(Array(CommandLine.arguments.dropFirst()))
var configuration = EtcdClient.Configuration(endpoints: options.endpoints)
configuration.dialTimeout = .seconds(2)
let client = try EtcdClient(configuration: configuration)

if options.demo {
    // Three copies; the one that gets the lock "crashes" after a few rounds: its keep-alive
    // stops (like a killed process), the lease runs out, and a standby takes over.
    let names = ["service-1", "service-2", "service-3"]
    let boxes = names.map { _ in SessionBox() }
    let services = names.map { Service(name: $0, client: client, lockPrefix: options.lock, ttl: options.ttl) }
    let crash = Task {
        try await Task.sleep(for: .seconds(4))
        guard let (name, primary) = zip(names, boxes).compactMap({ name, box in box.primarySession.map { (name, $0) } }).first
        else { return }
        FileHandle.standardOutput.write(Data("--- \(name) crashes (its keep-alive stops) ---\n".utf8))
        primary.orphan()
    }
    let demoLength = Duration.seconds(options.ttl + 8)
    await withTaskGroup(of: Void.self) { group in
        for (service, box) in zip(services, boxes) {
            group.addTask {
                try? await service.run(until: { try? await Task.sleep(for: demoLength) }, session: box)
            }
        }
    }
    crash.cancel()
    let last = try await client.kv.get("/root/work")
    FileHandle.standardOutput.write(Data("last fenced write: \(last.value?.string ?? "none")\n".utf8))
} else {
    let service = Service(name: options.name, client: client, lockPrefix: options.lock, ttl: options.ttl)
    let stop = StopSignal()
    try await service.run(until: { await stop.wait() })
}
await client.close()
