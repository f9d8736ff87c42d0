// swetcd-raft-bench: committed proposals per second through an in-memory 3-node Raft cluster,
// with the number of heap allocations (Swift objects and buffers) per proposal. Not a test; run it in release mode:
//
//     swift run -c release swetcd-raft-bench [--proposals N] [--size BYTES] [--batch B] [--codec]
//
// Every node persists its Ready into a MemoryStorage, applies committed entries and hands its
// messages to the others directly (or, with --codec, through the binary codec, as a real
// transport would). The log is compacted as it grows, like a server taking snapshots.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Raft

struct Options {
    var proposals = 200_000
    var size = 128
    var batches: [Int] = [1, 16, 256]
    var codec: [Bool] = [false, true]
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    while let a = args.popFirst() {
        switch a {
        case "--proposals": o.proposals = Int(args.popFirst() ?? "") ?? o.proposals
        case "--size": o.size = Int(args.popFirst() ?? "") ?? o.size
        case "--batch": o.batches = [Int(args.popFirst() ?? "") ?? 16]
        case "--codec": o.codec = [true]
        case "--no-codec": o.codec = [false]
        default:
            print("usage: swetcd-raft-bench [--proposals N] [--size BYTES] [--batch B] [--codec|--no-codec]")
            exit(2)
        }
    }
    return o
}

func nowNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// One in-memory server: a RawNode, its storage and its applied state.
final class BenchNode {
    let id: UInt64
    let storage = MemoryStorage()
    let node: RawNode
    var applied: UInt64 = 0
    var appliedProposals = 0

    init(id: UInt64, peers: [Peer]) throws {
        self.id = id
        node = try RawNode(
            config: Config(id: id, electionTick: 10, heartbeatTick: 1, maxSizePerMsg: 1 << 20, maxInflightMsgs: 256, seed: 1),
            storage: storage)
        try node.bootstrap(peers: peers)
    }
}

final class Cluster {
    var nodes: [BenchNode] = []
    let useCodec: Bool
    var outbox: [Message] = []
    var delivering: [Message] = []
    var wire: [[UInt8]] = []
    var deliveringWire: [[UInt8]] = []

    init(useCodec: Bool) throws {
        self.useCodec = useCodec
        let peers = [Peer(id: 1), Peer(id: 2), Peer(id: 3)]
        for id in 1...3 { nodes.append(try BenchNode(id: UInt64(id), peers: peers)) }
        pump()
        try nodes[0].node.campaign()
        pump()
        precondition(nodes[0].node.state == .leader, "node 1 did not become leader")
    }

    /// Handles one Ready of `n`: persist, send, apply, advance.
    func handleReady(_ n: BenchNode) {
        let rd = n.node.ready()
        if let snap = rd.snapshot { try! n.storage.applySnapshot(snap) }
        n.storage.append(rd.entries)
        if let hs = rd.hardState { n.storage.setHardState(hs) }
        if useCodec {
            for m in rd.messages { wire.append(m.encoded()) }
        } else {
            outbox.append(contentsOf: rd.messages)
        }
        for e in rd.committedEntries {
            if e.type != .normal {
                if let cc = try? e.decodeConfChange() { _ = try? n.node.applyConfChange(cc) }
            } else if !e.data.isEmpty {
                n.appliedProposals += 1
            }
            n.applied = e.index
        }
        n.node.advance()
        // Compact like a server taking snapshots: keep a tail for slow followers.
        if n.applied >= n.storage.firstIndex() + 8192 {
            let at = n.applied - 1024
            _ = try? n.storage.createSnapshot(at: at, confState: nil, data: [])
            try? n.storage.compact(at)
        }
    }

    /// Runs every node's Ready and delivers messages until the cluster is quiet.
    func pump() {
        var busy = true
        while busy {
            busy = false
            for n in nodes where n.node.hasReady() {
                handleReady(n)
                busy = true
            }
            // Swap buffers rather than copying, so the harness itself does not allocate.
            if useCodec {
                swap(&wire, &deliveringWire)
                for bytes in deliveringWire {
                    let m = try! Message(decoding: bytes)
                    try? nodes[Int(m.to) - 1].node.step(m)
                    busy = true
                }
                deliveringWire.removeAll(keepingCapacity: true)
            } else {
                swap(&outbox, &delivering)
                for m in delivering {
                    try? nodes[Int(m.to) - 1].node.step(m)
                    busy = true
                }
                delivering.removeAll(keepingCapacity: true)
            }
        }
    }
}

func run(proposals: Int, size: Int, batch: Int, codec: Bool) throws {
    let cluster = try Cluster(useCodec: codec)
    let leader = cluster.nodes[0]
    let payload = [UInt8](repeating: 0x5A, count: size)
    // Warm up (buffers, dictionaries) outside the measurement.
    for _ in 0..<1000 { try leader.node.propose(payload); cluster.pump() }
    let startApplied = leader.appliedProposals
    let startAllocs = allocationCount
    let start = nowNanos()
    var proposed = 0
    while proposed < proposals {
        let n = min(batch, proposals - proposed)
        for _ in 0..<n { try leader.node.propose(payload) }
        proposed += n
        cluster.pump()
    }
    let elapsed = Double(nowNanos() - start) / 1e9
    let allocs = allocationCount - startAllocs
    let committed = leader.appliedProposals - startApplied
    precondition(committed == proposals, "committed \(committed) of \(proposals)")
    precondition(cluster.nodes.allSatisfy { $0.applied == leader.applied }, "followers lag behind")
    let rate = Double(committed) / elapsed
    let perProposal = Double(allocs) / Double(committed)
    print(
        "batch \(pad(batch, 4))  codec \(codec ? "yes" : "no ")  \(pad(committed, 8)) proposals in "
            + "\(fmt(elapsed, 3)) s  ->  \(pad(Int(rate), 9)) proposals/s  \(fmt(perProposal, 1)) allocations/proposal")
}

func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return String(repeating: " ", count: max(0, width - s.count)) + s
}

func fmt(_ v: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (v * scale).rounded() / scale
    return String(r)
}

let options = parseOptions()
if !installAllocationCounter() { print("warning: allocation counter unavailable; counts will read 0") }
print("swetcd-raft-bench: 3 in-memory nodes, \(options.size)-byte proposals, all three nodes persist, apply and exchange messages")
for codec in options.codec {
    for batch in options.batches {
        try run(proposals: options.proposals, size: options.size, batch: batch, codec: codec)
    }
}
