import EtcdClient
import Foundation
import Synchronization
import Testing
import TestLoad

/// Session, Mutex, Election and STM under contention.
@Suite(.serialized, .load(3)) struct RecipeTests {
    /// Five sessions (five clients) contend for one lock, four times each: at no time do two
    /// hold it; the fencing revisions grow with every acquisition, and a fenced write (a
    /// transaction comparing the last fence) succeeds for every holder.
    @Test func mutexIsNeverHeldTwice() async throws {
        let cluster = try TestCluster.start(features: [.kv, .watch, .lease], test: "mutexIsNeverHeldTwice")
        defer { cluster.stop() }
        let sessions = 5
        let rounds = 4
        let holders = Locked(0)
        let acquisitions = Locked<[(fence: Int64, start: ContinuousClock.Instant, end: ContinuousClock.Instant)]>([])
        let violations = Locked<[String]>([])
        let clients = try (0..<sessions).map { _ in try cluster.client(requestTimeout: .seconds(10)) }
        try await clients[0].kv.put("fence", EtcdBytes(String(format: "%012d", 0)))

        try await withDeadline(90, "every contender to take the lock \(rounds) times") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for contender in 0..<sessions {
                    let client = clients[contender]
                    group.addTask {
                        let session = try await Session(client: client, ttl: 10)
                        let mutex = Mutex(session: session, prefix: "locks/shared")
                        for _ in 0..<rounds {
                            try await mutex.lock()
                            let start = ContinuousClock.now
                            let concurrent = holders.withLock { count -> Int in
                                count += 1
                                return count
                            }
                            if concurrent != 1 { violations.withLock { $0.append("\(concurrent) holders at once") } }
                            let fence = mutex.fencingRevision
                            // The fenced write: only if no later holder wrote a fence yet.
                            let fenced = try await client.kv.txn(
                                if: [mutex.isOwner, .value("fence", .less, EtcdBytes(String(format: "%012d", fence)))],
                                then: [.put("fence", EtcdBytes(String(format: "%012d", fence)))])
                            if !fenced.succeeded { violations.withLock { $0.append("fenced write rejected at \(fence)") } }
                            try await Task.sleep(for: .milliseconds(Int.random(in: 5...30)))
                            holders.withLock { $0 -= 1 }
                            let end = ContinuousClock.now
                            acquisitions.withLock { $0.append((fence, start, end)) }
                            try await mutex.unlock()
                        }
                        try await session.close()
                    }
                }
                try await group.waitForAll()
            }
        }
        for client in clients { await client.close() }

        #expect(violations.withLock { $0 } == [])
        let taken = acquisitions.withLock { $0 }.sorted { $0.fence < $1.fence }
        #expect(taken.count == sessions * rounds)
        #expect(Set(taken.map(\.fence)).count == taken.count, "two acquisitions with one fencing revision")
        for (earlier, later) in zip(taken, taken.dropFirst()) {
            #expect(earlier.end <= later.start, "holders \(earlier.fence) and \(later.fence) overlap")
        }
    }

    /// `tryLock` fails at once while another session holds the lock, and leaves no key.
    @Test func tryLock() async throws {
        let cluster = try TestCluster.start(features: [.kv, .watch, .lease], test: "tryLock")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        let first = Mutex(session: try await Session(client: client, ttl: 10), prefix: "try")
        let second = Mutex(session: try await Session(client: client, ttl: 10), prefix: "try")
        try await first.tryLock()
        do {
            try await second.tryLock()
            Issue.record("two holders")
        } catch let error as EtcdError {
            #expect(error.kind == .locked)
        }
        let value1 = try await client.kv.get(.prefix("try/")).count
        #expect(value1 == 1)
        try await first.unlock()
        try await second.tryLock()
        try await second.unlock()
    }

    /// A holder whose session dies loses the lock to the next waiter.
    @Test func lockPassesOnWhenSessionEnds() async throws {
        let cluster = try TestCluster.start(features: [.kv, .watch, .lease], test: "lockPassesOnWhenSessionEnds")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        let holderSession = try await Session(client: client, ttl: 2)
        let holder = Mutex(session: holderSession, prefix: "job")
        try await holder.lock()
        let waiter = Mutex(session: try await Session(client: client, ttl: 10), prefix: "job")
        let acquired = Task { try await waiter.lock() }
        try await Self.waitForKeys(2, under: "job/", client)
        // The holder's process "dies": its keep-alive stops, the lease runs out.
        holderSession.orphan()
        try await withDeadline(15, "the waiter to get the lock") { try await acquired.value }
        #expect(waiter.fencingRevision > holder.fencingRevision)
        try await waiter.unlock()
    }

    /// Twenty tasks increment one counter through STM, five times each: every increment lands.
    @Test func stmIncrementsFromTwentyTasks() async throws {
        let cluster = try TestCluster.start(features: [.kv], test: "stmIncrementsFromTwentyTasks")
        defer { cluster.stop() }
        let client = try cluster.client(requestTimeout: .seconds(10))
        defer { Task { await client.close() } }
        try await client.kv.put("counter", "0")
        let tasks = 20
        let increments = 5
        let attempts = Locked(0)
        try await withDeadline(120, "every STM increment") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        for _ in 0..<increments {
                            try await client.stm { stm in
                                attempts.withLock { $0 += 1 }
                                let value = Int(try await stm.get("counter")?.string ?? "0") ?? 0
                                stm.put("counter", EtcdBytes(String(value + 1)))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let value2 = try await client.kv.get("counter").value?.string
        #expect(value2 == String(tasks * increments))
        print("STM: \(tasks * increments) increments took \(attempts.withLock { $0 }) attempts")
    }

    /// STM at every isolation level: a transfer between two keys keeps the sum.
    @Test func stmIsolationLevels() async throws {
        let cluster = try TestCluster.start(features: [.kv], test: "stmIsolationLevels")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        for isolation in [STM.Isolation.serializableSnapshot, .serializable, .repeatableReads] {
            try await client.kv.put("acct/a", "100")
            try await client.kv.put("acct/b", "0")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await client.stm(isolation: isolation) { stm in
                            let a = Int(try await stm.get("acct/a")!.string)!
                            let b = Int(try await stm.get("acct/b")!.string)!
                            stm.put("acct/a", EtcdBytes(String(a - 10)))
                            stm.put("acct/b", EtcdBytes(String(b + 10)))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let a = Int(try await client.kv.get("acct/a").value!.string)!
            let b = Int(try await client.kv.get("acct/b").value!.string)!
            #expect(a + b == 100, "\(isolation)")
            #expect(b == 50, "\(isolation)")
        }
    }

    /// Election: the first candidate leads, observers see it, the second takes over when the
    /// first resigns.
    @Test func election() async throws {
        let cluster = try TestCluster.start(features: [.kv, .watch, .lease], test: "election")
        defer { cluster.stop() }
        let client = try cluster.client()
        defer { Task { await client.close() } }
        let first = Election(session: try await Session(client: client, ttl: 10), prefix: "leader")
        let second = Election(session: try await Session(client: client, ttl: 10), prefix: "leader")
        let observer = Election(session: try await Session(client: client, ttl: 10), prefix: "leader")
        let seen = Locked<[String]>([])
        let observing = Task {
            for try await leader in observer.observe() {
                let count = seen.withLock { list -> Int in
                    list.append(leader.kvs.first?.value.string ?? "")
                    return list.count
                }
                if count == 3 { return }
            }
        }
        try await first.campaign(value: "one")
        let secondCampaign = Task { try await second.campaign(value: "two") }
        try await Self.waitForKeys(2, under: "leader/", client)
        try await first.proclaim(value: "one, again")
        let value3 = try await first.leader().kvs.first?.value
        #expect(value3 == "one, again")
        try await first.resign()
        try await withDeadline(10, "the second candidate to win") { try await secondCampaign.value }
        let value4 = try await second.leader().kvs.first?.value
        #expect(value4 == "two")
        try await withDeadline(10, "the observer to see three leaders") { try await observing.value }
        #expect(seen.withLock { $0 } == ["one", "one, again", "two"])
        do {
            try await first.proclaim(value: "not mine")
            Issue.record("proclaimed without leading")
        } catch let error as EtcdError {
            #expect(error.kind == .electionNotLeader)
        }
    }

    /// Waits until `count` keys exist under `prefix`: a lock or election queue that long.
    static func waitForKeys(_ count: Int, under prefix: String, _ client: EtcdClient) async throws {
        try await withDeadline(15, "\(count) keys under \(prefix)") {
            while try await client.kv.get(.prefix(EtcdBytes(prefix))).count < count { try await Task.sleep(for: .milliseconds(20)) }
        }
    }
}
