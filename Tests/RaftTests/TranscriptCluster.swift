@testable import Raft

/// Runs transcript commands on a cluster of RawNodes that lives in memory. The interpreter
/// plays the server: it persists each Ready in a MemoryStorage, applies committed membership
/// changes, queues the messages per recipient and delivers them on `stabilize`, dropping
/// those to or from an isolated node. Everything is deterministic (the seeds are fixed).
///
/// Commands:
/// - `add-nodes <n> [pre-vote] [check-quorum] [join]`: n new nodes; founding members
///   bootstrap with each other, `join` ones start empty (add them with a conf change)
/// - `campaign <id>`, `propose <id> <data>`, `propose-conf-change <id> add|remove|add-learner <node>`
/// - `tick-election <id>`: ticks until the node's election timer fires (a follower's
///   randomized timeout, a leader's check-quorum interval); `tick-heartbeat <id>`
/// - `stabilize`: handle every Ready, deliver every message, until nothing is left
/// - `partition <id>...` (isolate each), `heal`
/// - `status <id>`, `log <id>`, `raft-state`
final class TranscriptCluster {
    struct Node {
        let raw: RawNode
        let storage: MemoryStorage
    }

    private(set) var nodes: [UInt64: Node] = [:]
    private var inbox: [UInt64: [Message]] = [:]
    private var isolated: Set<UInt64> = []
    private var out: [String] = []

    var ids: [UInt64] { nodes.keys.sorted() }

    /// The trace of one command line ("ok" when there is nothing else to say).
    func run(_ line: String) -> String {
        out = []
        let words = line.split(separator: " ").map(String.init)
        do {
            try execute(words.first ?? "", Array(words.dropFirst()))
        } catch {
            out.append("error: \(error)")
        }
        return out.isEmpty ? "ok" : out.joined(separator: "\n")
    }

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    private func node(_ text: String?) throws -> Node {
        guard let text, let id = UInt64(text), let node = nodes[id] else { throw UsageError(description: "no node \(text ?? "")") }
        return node
    }

    private func execute(_ command: String, _ args: [String]) throws {
        switch command {
        case "add-nodes": try addNodes(args)
        case "campaign": try reportingChange(args.first) { try $0.raw.campaign() }
        case "propose":
            guard args.count == 2 else { throw UsageError(description: "propose <id> <data>") }
            try reportingChange(args[0]) { try $0.raw.propose(Array(args[1].utf8)) }
        case "propose-conf-change": try proposeConfChange(args)
        case "tick-election":
            try reportingChange(args.first) { node in
                let raft = node.raw.raft
                let timeout = raft.state == .leader ? raft.electionTimeout : raft.randomizedElectionTimeout
                let ticks = max(timeout - raft.electionElapsed, 1)
                for _ in 0..<ticks { node.raw.tick() }
            }
        case "tick-heartbeat":
            try reportingChange(args.first) { node in
                for _ in 0..<node.raw.raft.heartbeatTimeout { node.raw.tick() }
            }
        case "stabilize": try stabilize()
        case "partition":
            for arg in args { isolated.insert(try node(arg).raw.id) }
            out.append("isolated: " + isolated.sorted().map(String.init).joined(separator: " "))
        case "heal":
            isolated = []
        case "status": status(try node(args.first))
        case "log":
            let node = try node(args.first)
            out += node.raw.raft.log.allEntries().map(Self.format)
            out.append("committed=\(node.raw.raft.log.committed) applied=\(node.raw.raft.log.applied)")
        case "raft-state":
            for id in ids { out.append(Self.summary(nodes[id]!.raw)) }
        default:
            throw UsageError(description: "unknown command \(command)")
        }
    }

    private func addNodes(_ args: [String]) throws {
        guard let count = args.first.flatMap(Int.init), count > 0 else { throw UsageError(description: "add-nodes <n>") }
        let first = UInt64(nodes.count + 1)
        let added = (first..<first + UInt64(count)).map { $0 }
        for id in added {
            var config = Config(id: id, electionTick: 10, heartbeatTick: 1, seed: 7)
            config.preVote = args.contains("pre-vote")
            config.checkQuorum = args.contains("check-quorum")
            let storage = MemoryStorage()
            let raw = try RawNode(config: config, storage: storage)
            if !args.contains("join") { try raw.bootstrap(peers: added.map { Peer(id: $0) }) }
            nodes[id] = Node(raw: raw, storage: storage)
            // The bootstrap entries are persisted and applied at once, silently.
            if raw.hasReady() { _ = handleReady(id, printing: false) }
            out.append(Self.summary(raw))
        }
    }

    private func proposeConfChange(_ args: [String]) throws {
        let kinds: [String: ConfChangeType] = ["add": .addNode, "remove": .removeNode, "add-learner": .addLearnerNode]
        guard args.count == 3, let type = kinds[args[1]], let target = UInt64(args[2]) else {
            throw UsageError(description: "propose-conf-change <id> add|remove|add-learner <node>")
        }
        try reportingChange(args[0]) { try $0.raw.proposeConfChange(ConfChange(type: type, nodeID: target)) }
    }

    /// Runs `body` on a node and reports a change of its role, term or leader.
    private func reportingChange(_ id: String?, _ body: (Node) throws -> Void) throws {
        let node = try node(id)
        let before = Self.summary(node.raw)
        try body(node)
        let after = Self.summary(node.raw)
        if after != before { out.append(after) }
    }

    // MARK: Stabilize

    private func stabilize() throws {
        for round in 0... {
            guard round < 1000 else { throw UsageError(description: "no stable state after 1000 rounds") }
            var busy = false
            for id in ids where nodes[id]!.raw.hasReady() {
                busy = handleReady(id, printing: true) || busy
            }
            for id in ids where !(inbox[id] ?? []).isEmpty {
                deliver(to: id)
                busy = true
            }
            if !busy { return }
        }
    }

    /// Handles one Ready as a server would: persist, send, apply, advance.
    private func handleReady(_ id: UInt64, printing: Bool) -> Bool {
        let node = nodes[id]!
        let ready = node.raw.ready()
        var lines: [String] = []
        if let soft = ready.softState { lines.append("state: \(soft.raftState) lead=\(soft.lead)") }
        if let hard = ready.hardState {
            lines.append("hard state: term=\(hard.term) vote=\(hard.vote) commit=\(hard.commit)")
            node.storage.setHardState(hard)
        }
        node.storage.append(ready.entries)
        lines += ready.entries.map { "append: " + Self.format($0) }
        for message in ready.messages {
            inbox[message.to, default: []].append(message)
            lines.append("send: " + Self.format(message))
        }
        for entry in ready.committedEntries {
            lines.append("apply: " + Self.format(entry))
            if let change = try? entry.decodeConfChange() {
                do {
                    try node.raw.applyConfChange(change)
                    lines.append("config: \(node.raw.raft.trk.config)")
                } catch {
                    lines.append("config change refused: \(error)")
                }
            }
        }
        for read in ready.readStates { lines.append("read state: index=\(read.index)") }
        node.raw.advance()
        if printing && !lines.isEmpty {
            out.append("> \(id) handling Ready")
            out += Self.collapsed(lines).map { "  " + $0 }
        }
        return !lines.isEmpty
    }

    private func deliver(to id: UInt64) {
        let messages = inbox.removeValue(forKey: id) ?? []
        var lines: [String] = []
        for message in messages {
            if isolated.contains(message.to) || isolated.contains(message.from) {
                lines.append("dropped: " + Self.format(message))
                continue
            }
            lines.append(Self.format(message))
            do {
                try nodes[id]!.raw.step(message)
            } catch {
                lines.append("refused: \(error)")
            }
        }
        out.append("> \(id) receiving messages")
        out += Self.collapsed(lines).map { "  " + $0 }
    }

    /// Each distinct line once, where it first appears, with how often it came when more than
    /// once (a leader ticked through an election timeout sends a heartbeat per tick).
    static func collapsed(_ lines: [String]) -> [String] {
        var counts: [String: Int] = [:]
        for line in lines { counts[line, default: 0] += 1 }
        var seen: Set<String> = []
        return lines.compactMap { line in
            guard seen.insert(line).inserted else { return nil }
            return counts[line]! > 1 ? "\(line) (\(counts[line]!) times)" : line
        }
    }

    // MARK: Rendering

    private func status(_ node: Node) {
        let raft = node.raw.raft
        out.append(Self.summary(node.raw) + " vote=\(raft.vote) commit=\(raft.log.committed) applied=\(raft.log.applied)"
            + " last=\(raft.log.lastIndex) \(raft.trk.config)")
        for (id, progress) in node.raw.status().progress.sorted(by: { $0.key < $1.key }) {
            out.append("  \(id): \(progress.state) match=\(progress.match) next=\(progress.next)"
                + (progress.recentActive ? " active" : "") + (progress.isLearner ? " learner" : ""))
        }
    }

    static func summary(_ raw: RawNode) -> String {
        "\(raw.id): \(raw.state) term=\(raw.term) lead=\(raw.leader)"
    }

    static func format(_ entry: Entry) -> String {
        let body: String
        switch entry.type {
        case .normal: body = "EntryNormal \"\(String(decoding: entry.data, as: UTF8.self))\""
        case .confChange, .confChangeV2:
            let changes = ((try? entry.decodeConfChange()) ?? nil)?.changes ?? []
            body = "\(entry.type == .confChange ? "EntryConfChange" : "EntryConfChangeV2") "
                + changes.map { "\(Self.name($0.type)) \($0.nodeID)" }.joined(separator: ", ")
        }
        return "\(entry.term)/\(entry.index) \(body)"
    }

    static func name(_ type: ConfChangeType) -> String {
        switch type {
        case .addNode: return "add"
        case .removeNode: return "remove"
        case .updateNode: return "update"
        case .addLearnerNode: return "add-learner"
        }
    }

    /// `1->2 MsgApp Term:2 Log:1/3 Commit:3 Entries:[2/4 EntryNormal ""]`, with the fields
    /// the message type uses.
    static func format(_ m: Message) -> String {
        var s = "\(m.from)->\(m.to) \(m.type) Term:\(m.term)"
        switch m.type {
        case .app, .vote, .preVote, .snap: s += " Log:\(m.logTerm)/\(m.index)"
        case .appResp, .readIndexResp: s += " Index:\(m.index)"
        default: if m.logTerm != 0 || m.index != 0 { s += " Log:\(m.logTerm)/\(m.index)" }
        }
        if m.commit != 0 || [.app, .heartbeat].contains(m.type) { s += " Commit:\(m.commit)" }
        if m.reject { s += " Rejected (Hint: \(m.rejectHint)\(m.type == .appResp ? ", LogTerm: \(m.logTerm)" : ""))" }
        if !m.entries.isEmpty { s += " Entries:[" + m.entries.map(format).joined(separator: ", ") + "]" }
        if let snapshot = m.snapshot { s += " Snapshot: \(snapshot.metadata.term)/\(snapshot.metadata.index)" }
        return s
    }
}
