@testable import Raft

/// A configuration for unit tests: small timeouts, deterministic seed.
func testConfig(_ id: UInt64, election: Int = 10, heartbeat: Int = 1, _ configure: (inout Config) -> Void = { _ in }) -> Config {
    var c = Config(id: id, electionTick: election, heartbeatTick: heartbeat, maxSizePerMsg: .max, maxInflightMsgs: 256)
    configure(&c)
    return c
}

/// A Raft node with the given membership (when its storage holds none).
func newTestRaft(
    _ id: UInt64, peers: [UInt64], learners: [UInt64] = [], election: Int = 10, heartbeat: Int = 1,
    storage: MemoryStorage = MemoryStorage(), _ configure: (inout Config) -> Void = { _ in }
) -> Raft {
    let cfg = testConfig(id, election: election, heartbeat: heartbeat, configure)
    let hasConf = !storage.initialState().confState.voters.isEmpty
    do {
        return try Raft(config: cfg, storage: storage, peers: hasConf ? [] : peers, learners: hasConf ? [] : learners)
    } catch {
        fatalError("newTestRaft: \(error)")
    }
}

/// A storage whose log already holds `entries` (terms given, indexes 1...).
func storageWith(terms: [UInt64]) -> MemoryStorage {
    let s = MemoryStorage()
    s.append(terms.enumerated().map { Entry(term: $0.element, index: UInt64($0.offset + 1)) })
    return s
}

extension Raft {
    /// Takes the queued outgoing messages.
    func readMessages() -> [Message] {
        let m = msgs
        msgs = []
        return m
    }

    /// Steps a message that is expected to be accepted.
    func stepOK(_ m: Message) {
        do { try step(m) } catch { fatalError("step \(m) failed: \(error)") }
    }

    /// Plays the application: persists the unstable log, then marks committed entries applied.
    @discardableResult
    func persistAndApply(_ storage: MemoryStorage) -> [Entry] {
        storage.append(log.unstableEntries)
        if let last = log.unstableEntries.last { log.stableTo(index: last.index, term: last.term) }
        let ents = log.nextEntries()
        if let last = ents.last { log.appliedTo(last.index) }
        return ents
    }

    /// Campaigns and wins outright (single voter), or just starts the election.
    func becomeCandidateThenLeader() {
        becomeCandidate()
        becomeLeader()
    }

    var logTerms: [UInt64] { log.allEntries().map(\.term) }
}

/// An in-process network of Raft nodes that delivers messages synchronously until quiet, with
/// the partitions, drops and black holes of etcd's test network.
final class Network {
    private(set) var ids: [UInt64]
    var peers: [UInt64: Raft] = [:]
    var storage: [UInt64: MemoryStorage] = [:]
    var blackholes: Set<UInt64> = []
    private var cuts: Set<[UInt64]> = []
    private var ignored: Set<MessageType> = []
    /// Return false to drop a message.
    var filter: ((Message) -> Bool)?
    var delivered: [Message] = []

    /// Builds a network of `count` nodes with ids 1...count. `custom` may supply a prepared
    /// node for an id; `blackhole` ids swallow everything sent to them.
    init(
        _ count: Int, blackhole: Set<UInt64> = [], election: Int = 10, custom: [UInt64: Raft] = [:],
        _ configure: (inout Config) -> Void = { _ in }
    ) {
        ids = (1...UInt64(count)).map { $0 }
        blackholes = blackhole
        for id in ids where !blackhole.contains(id) {
            if let r = custom[id] {
                peers[id] = r
            } else {
                let s = MemoryStorage()
                storage[id] = s
                peers[id] = newTestRaft(id, peers: ids, election: election, storage: s, configure)
            }
        }
    }

    subscript(id: UInt64) -> Raft { peers[id]! }

    /// Delivers `msgs` and every message they cause, breadth first, until nothing is left.
    /// As in etcd's test network, the messages handed in are always delivered; partitions,
    /// drops and filters apply to the messages the nodes produce.
    func send(_ msgs: Message...) { send(msgs) }

    func send(_ msgs: [Message]) {
        var queue = msgs
        var i = 0
        while i < queue.count {
            let m = queue[i]
            let initial = i < msgs.count
            i += 1
            guard let p = peers[m.to], initial || shouldDeliver(m) else { continue }
            delivered.append(m)
            try? p.step(m)
            queue.append(contentsOf: p.readMessages())
        }
    }

    /// Makes `id` campaign and delivers everything that follows.
    func campaign(_ id: UInt64) {
        send(Message(type: .hup, to: id, from: id))
    }

    /// Proposes `data` at `id` and delivers everything that follows.
    func propose(_ id: UInt64, _ data: [UInt8] = [1]) {
        send(Message(type: .prop, to: id, from: id, entries: [Entry(term: 0, index: 0, data: data)]))
    }

    func cut(_ a: UInt64, _ b: UInt64) {
        cuts.insert([a, b])
        cuts.insert([b, a])
    }

    func isolate(_ id: UInt64) {
        for other in ids where other != id { cut(id, other) }
    }

    func ignore(_ t: MessageType) { ignored.insert(t) }

    func recover() {
        cuts = []
        ignored = []
        filter = nil
    }

    private func shouldDeliver(_ m: Message) -> Bool {
        if blackholes.contains(m.to) { return false }
        if cuts.contains([m.from, m.to]) { return false }
        if ignored.contains(m.type) { return false }
        return filter?(m) ?? true
    }

    /// Drains every node's outbox without delivering (to discard noise).
    func drain() {
        for id in ids { _ = peers[id]?.readMessages() }
    }
}

func payload(_ s: String) -> [UInt8] { Array(s.utf8) }
