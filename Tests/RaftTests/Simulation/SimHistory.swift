@testable import Raft

/// The simulator's global knowledge, against which every node is checked continuously:
/// election safety, vote uniqueness, log matching, leader completeness, state-machine safety
/// and linearizable reads.
struct SimHistory {
    struct EntryKey: Hashable {
        var index: UInt64
        var term: UInt64
    }

    struct VoteKey: Hashable {
        var node: UInt64
        var term: UInt64
    }

    /// Term and digest of the entry applied at each index (index 0 unused), and the state hash
    /// after applying it. Whatever one node applied, every node must apply identically.
    var appliedTerm: [UInt64] = [0]
    var appliedDigest: [UInt64] = [0]
    var stateHash: [UInt64] = [0]
    /// An upper bound on the term in which each applied entry was committed: the lowest term
    /// of any node seen applying it. (A node learns of a commit only from a leader of its own
    /// term or an earlier one, so the leader that committed it had at most that term.)
    var commitTermBound: [UInt64] = [0]
    /// The highest index applied anywhere: every write up to here has been acknowledged.
    var maxApplied: UInt64 = 0
    var leaderOfTerm: [UInt64: UInt64] = [:]
    var votes: [VoteKey: UInt64] = [:]
    /// Digest and predecessor term of every (index, term) ever written to a log.
    var entries: [EntryKey: (digest: UInt64, prevTerm: UInt64)] = [:]
    /// Outstanding reads: context -> highest acknowledged index when the read was issued.
    var pendingReads: [[UInt8]: UInt64] = [:]
    var readsChecked = 0
    var leadersSeen = 0

    // MARK: - Election safety and votes

    mutating func observeLeader(_ id: UInt64, term: UInt64) throws(SimFailure) {
        if let other = leaderOfTerm[term] {
            if other != id { throw SimFailure(description: "election safety: \(other) and \(id) both leader in term \(term)") }
            return
        }
        leaderOfTerm[term] = id
        leadersSeen += 1
    }

    mutating func observeHardState(_ node: UInt64, _ hs: HardState) throws(SimFailure) {
        guard hs.vote != noNode else { return }
        let key = VoteKey(node: node, term: hs.term)
        if let prev = votes[key], prev != hs.vote {
            throw SimFailure(description: "node \(node) voted for \(prev) and \(hs.vote) in term \(hs.term)")
        }
        votes[key] = hs.vote
    }

    // MARK: - Log matching

    /// Checks entries about to be persisted: an (index, term) pair must always denote the same
    /// entry with the same predecessor term, which by induction makes logs that share an entry
    /// identical up to it (§5.3).
    mutating func observeAppend(node: UInt64, entries ents: [Entry], storage: MemoryStorage) throws(SimFailure) {
        guard let first = ents.first else { return }
        var prevTerm: UInt64? = first.index == 1 ? 0 : try? storage.term(first.index - 1)
        for e in ents {
            let digest = entryDigest(e)
            if let p = prevTerm {
                let key = EntryKey(index: e.index, term: e.term)
                if let known = entries[key] {
                    if known.digest != digest || known.prevTerm != p {
                        throw SimFailure(description: "log matching: node \(node) entry \(e.term)/\(e.index) differs "
                            + "(digest \(digest) vs \(known.digest), prev term \(p) vs \(known.prevTerm))")
                    }
                } else {
                    entries[key] = (digest, p)
                }
            }
            prevTerm = e.term
        }
    }

    // MARK: - State machine safety

    /// Records (or checks) the entry a node applies at `e.index`; returns the new state hash.
    mutating func observeApply(node: UInt64, nodeTerm: UInt64, entry e: Entry, prevHash: UInt64) throws(SimFailure) -> UInt64 {
        let digest = entryDigest(e)
        let h = rollHash(prevHash, index: e.index, term: e.term, digest: digest)
        let i = Int(e.index)
        if i < appliedTerm.count {
            if appliedTerm[i] != e.term || appliedDigest[i] != digest || stateHash[i] != h {
                throw SimFailure(description: "state machine safety: node \(node) applied \(e.term)/\(e.index) "
                    + "but \(appliedTerm[i])/\(e.index) was applied elsewhere (or the states diverged before)")
            }
            commitTermBound[i] = min(commitTermBound[i], nodeTerm)
        } else if i == appliedTerm.count {
            appliedTerm.append(e.term)
            appliedDigest.append(digest)
            stateHash.append(h)
            commitTermBound.append(nodeTerm)
        } else {
            throw SimFailure(description: "node \(node) applied index \(i) with a gap (history ends at \(appliedTerm.count - 1))")
        }
        maxApplied = max(maxApplied, e.index)
        return h
    }

    /// A snapshot's state must be the state every node reached at its index.
    func checkSnapshot(node: UInt64, index: UInt64, hash: UInt64) throws(SimFailure) {
        let i = Int(index)
        if i < stateHash.count && stateHash[i] != hash {
            throw SimFailure(description: "node \(node) holds a snapshot at \(index) whose state differs from the history")
        }
        if i >= stateHash.count {
            throw SimFailure(description: "node \(node) holds a snapshot at \(index) beyond anything applied (\(stateHash.count - 1))")
        }
    }

    // MARK: - Leader completeness

    /// A leader's log must contain every entry committed in an earlier term (§5.4): every entry
    /// applied anywhere whose commit-term bound is below the leader's term. Entries it
    /// compacted are covered by its snapshot.
    func checkLeaderCompleteness(_ raft: Raft, upTo limit: UInt64? = nil, from start: UInt64 = 1) throws(SimFailure) {
        let last = min(UInt64(appliedTerm.count - 1), limit ?? .max)
        if start > last { return }
        let lo = max(start, raft.log.firstIndex)
        if lo > last { return }
        for i in lo...last {
            if commitTermBound[Int(i)] >= raft.term { continue }
            let want = appliedTerm[Int(i)]
            let have = raft.log.termOrZero(i)
            if have != want {
                throw SimFailure(description: "leader completeness: leader \(raft.id) of term \(raft.term) has term \(have) "
                    + "at \(i), but \(want)/\(i) was committed")
            }
        }
    }

    // MARK: - Reads

    mutating func issueRead(_ ctx: [UInt8]) {
        pendingReads[ctx] = maxApplied
    }

    /// A read index must cover every write acknowledged before the read was issued.
    mutating func checkRead(node: UInt64, _ rs: ReadState) throws(SimFailure) {
        guard let floor = pendingReads[rs.requestContext] else {
            throw SimFailure(description: "node \(node) got a read state for an unknown request")
        }
        if rs.index < floor {
            throw SimFailure(description: "linearizability: node \(node) read index \(rs.index) but index \(floor) was "
                + "acknowledged before the read was issued")
        }
        readsChecked += 1
    }
}
