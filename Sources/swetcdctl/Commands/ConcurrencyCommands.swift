import EtcdClient
import EtcdProto
import Foundation

/// lock and elect, on the client's Session, Mutex and Election recipes.
enum ConcurrencyCommands {
    static func register(_ app: App) {
        app.root.add(lockCommand(app), electCommand(app))
    }

    static func lockCommand(_ app: App) -> Command {
        let command = Command("lock <lockname> [exec-command arg1 arg2 ...]", short: "Acquires a named lock")
        let ttl = command.flags.int("ttl", 10, "timeout for session")
        command.run = { invocation in
            guard let name = invocation.args.first else {
                exitWithError(.badArgs, "lock takes a lock name argument and an optional command to execute")
            }
            let client = await app.client(invocation)
            let exec = Array(invocation.args.dropFirst())
            let session: Session
            do {
                session = try await Session(client: client, ttl: ttl.int)
            } catch {
                app.logRetryFailure(error)
                exitWithError(.error, error)
            }
            let mutex = Mutex(session: session, prefix: name)
            let interrupted = Signals.interruption()
            let locking = Task { try await mutex.lock() }
            let lockResult = await Signals.race(interrupted) { try await locking.value }
            switch lockResult {
            case .interrupted:
                locking.cancel()
                _ = await locking.result
                exitWithError(.error, EtcdError(.canceled))
            case .failed(let error):
                exitWithError(.error, error)
            case .done:
                break
            }
            let key = mutex.key ?? mutex.myKey
            if !exec.isEmpty {
                var environment = ["ETCD_LOCK_KEY": key.string, "ETCD_LOCK_REV": String(mutex.header?.revision ?? 0)]
                environment.merge(ProcessInfo.processInfo.environment) { _, process in process }
                let failure = Subprocess.run(exec, environment: environment)
                var unlockError: (any Error)?
                do { try await mutex.unlock() } catch { unlockError = error }
                if let failure { exitWithError(.error, failure) }
                if let unlockError { exitWithError(.error, unlockError) }
                return
            }
            let held: GetResponse
            do {
                held = try await client.kv.get(.key(key))
            } catch {
                app.logRetryFailure(error)
                exitWithError(.error, error)
            }
            if held.raw.kvs.isEmpty { exitWithError(.error, "lock lost on init") }
            app.display.get(held.raw)
            switch await Signals.race(interrupted, { await session.done() }) {
            case .interrupted:
                do { try await mutex.unlock() } catch { exitWithError(.error, error) }
            default:
                exitWithError(.error, "session expired")
            }
        }
        return command
    }

    static func electCommand(_ app: App) -> Command {
        let command = Command("elect <election-name> [proposal]", short: "Observes and participates in leader election")
        let listen = command.flags.bool("listen", "l", false, "observation mode")
        command.run = { invocation in
            let args = invocation.args
            guard args.count == 1 || args.count == 2 else {
                exitWithError(.badArgs, "elect takes one election name argument and an optional proposal argument")
            }
            let client = await app.client(invocation)
            if args.count == 1 {
                if !listen.bool { exitWithError(.badArgs, "no proposal argument but -l not set") }
                await observe(app, client, args[0])
            } else {
                if listen.bool { exitWithError(.badArgs, "proposal given but -l is set") }
                await campaign(app, client, args[0], args[1])
            }
        }
        return command
    }

    static func session(_ app: App, _ client: EtcdClient) async -> Session {
        do {
            return try await Session(client: client)
        } catch {
            app.logRetryFailure(error)
            exitWithError(.error, error)
        }
    }

    static func observe(_ app: App, _ client: EtcdClient, _ name: String) async {
        let election = Election(session: await session(app, client), prefix: name)
        let interrupted = Signals.interruption()
        let result = await Signals.race(interrupted) {
            for try await leader in election.observe() { app.display.get(leader.raw) }
        }
        if case .interrupted = result { return }
        exitWithError(.error, "elect: observer lost")
    }

    static func campaign(_ app: App, _ client: EtcdClient, _ name: String, _ proposal: String) async {
        let session = await session(app, client)
        let election = Election(session: session, prefix: name)
        let interrupted = Signals.interruption()
        let campaigning = Task { try await election.campaign(value: EtcdBytes(proposal)) }
        switch await Signals.race(interrupted, { try await campaigning.value }) {
        case .interrupted:
            campaigning.cancel()
            _ = await campaigning.result
            exitWithError(.error, EtcdError(.canceled))
        case .failed(let error):
            exitWithError(.error, error)
        case .done:
            break
        }
        do {
            let leader = try await client.kv.get(.key(election.key ?? .empty))
            app.display.get(leader.raw)
        } catch {
            app.logRetryFailure(error)
            exitWithError(.error, error)
        }
        switch await Signals.race(interrupted, { await session.done() }) {
        case .interrupted:
            do { try await election.resign() } catch { exitWithError(.error, error) }
        default:
            exitWithError(.error, "elect: session expired")
        }
    }
}

/// SIGINT and SIGTERM as an event tasks can wait for.
enum Signals {
    final class Interruption: @unchecked Sendable {
        private let lock = NSLock()
        private var fired = false
        private var waiters: [CheckedContinuation<Void, Never>] = []
        private var sources: [DispatchSourceSignal] = []

        fileprivate init() {
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { [weak self] in self?.fire() }
                source.resume()
                sources.append(source)
            }
        }

        private func fire() {
            lock.lock()
            fired = true
            let waiting = waiters
            waiters = []
            lock.unlock()
            for waiter in waiting { waiter.resume() }
        }

        func wait() async {
            await withCheckedContinuation { continuation in
                lock.lock()
                if fired {
                    lock.unlock()
                    continuation.resume()
                } else {
                    waiters.append(continuation)
                    lock.unlock()
                }
            }
        }
    }

    static func interruption() -> Interruption { Interruption() }

    enum Outcome { case interrupted, done, failed(any Error) }

    /// Runs `body` until it ends or a signal comes, whichever is first (the loser is left
    /// running: the process is about to end).
    static func race(_ interruption: Interruption, _ body: @escaping @Sendable () async throws -> Void) async -> Outcome {
        let decided = NSLock()
        nonisolated(unsafe) var done = false
        return await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            @Sendable func finish(_ outcome: Outcome) {
                decided.lock()
                defer { decided.unlock() }
                if done { return }
                done = true
                continuation.resume(returning: outcome)
            }
            Task {
                await interruption.wait()
                finish(.interrupted)
            }
            Task {
                do {
                    try await body()
                    finish(.done)
                } catch {
                    finish(.failed(error))
                }
            }
        }
    }
}
