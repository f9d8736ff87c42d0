/// The single-threaded façade over one Raft node: feed it time (`tick`), peer messages (`step`)
/// and client requests (`propose`, `readIndex`, …); collect the work it asks for with
/// `ready()`, do that work (see `Ready`), then call `advance()`.
///
/// It performs no I/O, reads no clock and draws randomness only from `Config.seed`: given the
/// same inputs it produces the same outputs. It is not thread-safe; one task owns it.
public final class RawNode {
    let raft: Raft
    private var prevSoftState: SoftState
    private var prevHardState: HardState
    /// What `advance()` needs to know about the `Ready` handed out and not yet advanced.
    private struct Outstanding {
        var lastEntry: (index: UInt64, term: UInt64)?
        var snapshotIndex: UInt64?
        var committed: [Entry]
    }

    private var outstanding: Outstanding?

    /// Creates a node from `config` and whatever `storage` holds (an empty storage for a
    /// brand-new node, which then needs `bootstrap` or a snapshot carrying the membership).
    public init(config: Config, storage: any Storage) throws(RaftError) {
        raft = try Raft(config: config, storage: storage)
        prevSoftState = raft.softState
        prevHardState = raft.hardState
    }

    /// Test hook: a new node whose membership is given directly.
    init(config: Config, storage: any Storage, peers: [UInt64], learners: [UInt64] = []) throws(RaftError) {
        raft = try Raft(config: config, storage: storage, peers: peers, learners: learners)
        prevSoftState = raft.softState
        prevHardState = raft.hardState
    }

    /// Starts a brand-new cluster: writes one `addNode` conf change per peer at term 1, commits
    /// them and applies them to the node's configuration. The entries come out of the next
    /// `Ready` like any others (persist them; applying them again is harmless).
    /// Every founding member bootstraps with the same peers.
    public func bootstrap(peers: [Peer]) throws(RaftError) {
        if peers.isEmpty { throw .noPeers }
        if raft.log.storage.lastIndex() != 0 { throw .storageNotEmpty }
        prevHardState = HardState()
        raft.becomeFollower(term: 1, lead: noNode)
        var ents: [Entry] = []
        for (i, p) in peers.enumerated() {
            let cc = ConfChange(type: .addNode, nodeID: p.id, context: p.context)
            ents.append(Entry(term: 1, index: UInt64(i + 1), type: .confChange, data: cc.encoded()))
        }
        raft.log.append(ents[...])
        raft.log.committed = UInt64(ents.count)
        for p in peers {
            do {
                _ = try raft.applyConfChange(ConfChange(type: .addNode, nodeID: p.id).asV2)
            } catch {
                throw .invalidConfig("bootstrap: \(error)")
            }
        }
    }

    /// This node's id.
    public var id: UInt64 { raft.id }

    // MARK: - Inputs

    /// Advances the logical clock by one tick (election and heartbeat timeouts are counted in
    /// ticks).
    public func tick() {
        raft.tick()
    }

    /// Starts an election now (as if the election timeout elapsed).
    public func campaign() throws(RaftError) {
        try raft.step(Message(type: .hup))
    }

    /// Proposes `data` for appending to the log. Throws `.proposalDropped` if it was not
    /// accepted (no known leader, forwarding disabled, transfer in progress, size limit). A
    /// proposal that is accepted may still be lost (leader change); the application learns
    /// about success only when the entry comes back committed.
    public func propose(_ data: [UInt8]) throws(RaftError) {
        try raft.proposeLocal(Entry(term: 0, index: 0, data: data))
    }

    /// Proposes a membership change. Only one change may be pending: while one is, the leader
    /// replaces further ones by empty normal entries (they come back committed but do nothing).
    public func proposeConfChange(_ cc: some ConfChangeConvertible) throws(RaftError) {
        try raft.proposeLocal(cc.makeEntry())
    }

    /// Applies a committed membership change (call it for every conf-change entry, in log
    /// order) and returns the new configuration, to be recorded with the next snapshot.
    /// Throws if the change is invalid for the current configuration, which is left as is.
    @discardableResult
    public func applyConfChange(_ cc: some ConfChangeConvertible) throws(ConfChangeError) -> ConfState {
        try raft.applyConfChange(cc.asV2)
    }

    /// Feeds a message received from a peer. Local-only kinds are refused, as are responses
    /// from nodes outside the configuration and messages not shaped as members send them.
    public func step(_ m: Message) throws(RaftError) {
        if m.type.isLocal { throw .stepLocalMessage }
        if let reason = m.peerShapeDropReason { throw .messageDropped(reason) }
        if raft.trk.progress[m.from] == nil && m.type.isResponse { throw .stepPeerNotFound }
        try raft.step(m)
    }

    /// Feeds a snapshot message whose data arrived with it. It is stepped only when it comes
    /// from the leader this node follows, in its current term, and goes beyond the commit
    /// index; otherwise it throws `.messageDropped` and nothing changes. Returns whether the
    /// snapshot is to be installed (it comes out of the next `Ready`).
    @discardableResult
    public func stepSnapshot(_ m: Message) throws(RaftError) -> Bool {
        guard m.type == .snap else { throw .messageDropped(.missingSnapshot) }
        if let reason = raft.snapshotDropReason(m) { throw .messageDropped(reason) }
        try raft.step(m)
        guard let index = m.snapshot?.metadata.index else { return false }
        return raft.log.unstable.snapshot?.metadata.index == index
    }

    /// Requests a linearizable read. `context` must uniquely identify the request; the answer
    /// arrives as a `ReadState` with the same context in a later `Ready` (or never, if
    /// leadership changes: retry after a timeout).
    public func readIndex(_ context: [UInt8]) {
        try? raft.step(Message(type: .readIndex, entries: [Entry(term: 0, index: 0, data: context)]))
    }

    /// Asks the leader to hand leadership to `transferee` (thesis §3.10). The leader stops
    /// accepting proposals until the transfer completes or an election timeout passes.
    public func transferLeadership(to transferee: UInt64) {
        try? raft.step(Message(type: .transferLeader, from: transferee))
    }

    /// Tells the leader that the last message to `peer` could not be delivered.
    public func reportUnreachable(_ peer: UInt64) {
        try? raft.step(Message(type: .unreachable, from: peer))
    }

    /// Tells the leader whether the snapshot sent to `peer` arrived.
    public func reportSnapshot(_ peer: UInt64, status: SnapshotStatus) {
        try? raft.step(Message(type: .snapStatus, from: peer, reject: status == .failure))
    }

    // MARK: - Outputs

    /// Whether `ready()` would return anything to do.
    public func hasReady() -> Bool {
        let r = raft
        if r.appendsPending { return true }
        if r.softState != prevSoftState { return true }
        let hs = r.hardState
        if !hs.isEmpty && hs != prevHardState { return true }
        if r.log.unstable.snapshot != nil { return true }
        if !r.msgs.isEmpty || !r.log.unstable.entries.isEmpty || r.log.hasNextEntries { return true }
        return !r.readStates.isEmpty
    }

    /// Collects the pending work. Must be followed by `advance()` before the next `ready()`.
    public func ready() -> Ready {
        precondition(outstanding == nil, "ready() called again before advance()")
        let r = raft
        r.flushPendingAppends()
        var rd = Ready(
            readStates: r.readStates, entries: r.log.unstableEntries, snapshot: r.log.unstable.snapshot,
            committedEntries: r.log.nextEntries(), messages: r.msgs)
        let soft = r.softState
        if soft != prevSoftState {
            rd.softState = soft
            prevSoftState = soft
        }
        let hs = r.hardState
        if hs != prevHardState {
            rd.hardState = hs
        }
        rd.mustSync = !rd.entries.isEmpty || rd.snapshot != nil || hs.term != prevHardState.term
            || hs.vote != prevHardState.vote
        prevHardState = hs
        r.msgs = []
        r.readStates = []
        outstanding = Outstanding(
            lastEntry: rd.entries.last.map { ($0.index, $0.term) }, snapshotIndex: rd.snapshot?.metadata.index,
            committed: rd.committedEntries)
        return rd
    }

    /// Reports that the last `Ready` was handled: its entries and snapshot are persisted, its
    /// committed entries applied. The node may then hand out follow-up work (for example the
    /// automatic exit from a joint configuration).
    public func advance() {
        guard let rd = outstanding else { preconditionFailure("advance() without ready()") }
        outstanding = nil
        let r = raft
        let applied = rd.committed.last?.index ?? rd.snapshotIndex ?? 0
        if applied > 0 {
            r.log.appliedTo(applied)
            if r.trk.config.autoLeave && applied >= r.pendingConfIndex && r.state == .leader {
                // The joint configuration is applied: propose leaving it.
                var leave = [ConfChangeV2().makeEntry()]
                if r.appendEntries(&leave) {
                    r.pendingConfIndex = r.log.lastIndex
                    r.bcastAppend()
                } else {
                    // Try again at the next advance.
                    r.pendingConfIndex = r.log.lastIndex
                }
            }
        }
        r.reduceUncommittedSize(rd.committed)
        if let last = rd.lastEntry {
            r.log.stableTo(index: last.index, term: last.term)
        }
        if let index = rd.snapshotIndex {
            r.log.stableSnapTo(index: index)
        }
    }

    // MARK: - Observation

    /// The node's current state; `progress` is only filled in on the leader.
    public func status() -> Status {
        let r = raft
        var progress: [UInt64: ProgressStatus] = [:]
        if r.state == .leader {
            for (pid, pr) in r.trk.members { progress[pid] = pr.status }
        }
        return Status(
            id: r.id, hardState: r.hardState, softState: r.softState, applied: r.log.applied,
            leadTransferee: r.leadTransferee, config: r.trk.config, progress: progress)
    }

    /// The current leader (0 if unknown).
    public var leader: UInt64 { raft.lead }

    /// The current role.
    public var state: RaftState { raft.state }

    /// The current term.
    public var term: UInt64 { raft.term }
}
