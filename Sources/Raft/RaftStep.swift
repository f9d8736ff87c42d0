extension Raft {
    /// Feeds one message to the state machine. Term bookkeeping (§5.1) happens here for every
    /// kind; elections and votes are role-independent; the rest goes to the role's step function.
    func step(_ m: Message) throws(RaftError) {
        if let reason = dropReason(m) { throw .messageDropped(reason) }
        if m.term > term {
            if m.type == .vote || m.type == .preVote {
                let force = m.context == campaignTransferContext
                let inLease = checkQuorum && lead != noNode && electionElapsed < electionTimeout
                if !force && inLease {
                    // We heard from a live leader less than an election timeout ago: a node that
                    // asks for votes now is disruptive (thesis §6.2, §4.2.3). Ignore it without
                    // adopting its term.
                    return
                }
            }
            switch m.type {
            case .preVote:
                // A pre-vote never changes our term.
                break
            case .preVoteResp where !m.reject:
                // Granted pre-votes carry the term we would campaign in; we move there only once
                // a quorum granted them. (A rejection carries the voter's real, higher term.)
                break
            default:
                let leaderMessage = m.type == .app || m.type == .heartbeat || m.type == .snap
                becomeFollower(term: m.term, lead: leaderMessage ? m.from : noNode)
            }
        } else if m.term != 0 && m.term < term {
            if (checkQuorum || preVote || !promotable) && (m.type == .heartbeat || m.type == .app) {
                // A leader of an older term is still around. Our higher term may come from an
                // election that could not win and that nobody will hear about: with check-quorum
                // or pre-vote others ignore our vote requests, and a node that is not a voter in
                // its own (possibly stale) configuration never campaigns at all. Tell that
                // leader our term so it steps down and the cluster can move on, instead of
                // leaving us stuck. (Otherwise our own campaign will spread the term.)
                send(Message(type: .appResp, to: m.from))
            } else if m.type == .preVote {
                // Reject explicitly so that a pre-candidate with a stale term learns of ours;
                // staying silent could leave the cluster without a leader.
                send(Message(type: .preVoteResp, to: m.from, term: term, reject: true))
            }
            // Any other stale message is ignored.
            return
        }

        switch m.type {
        case .hup:
            hup(preVote ? .preElection : .election)
        case .vote, .preVote:
            handleVoteRequest(m)
        default:
            switch state {
            case .leader: try stepLeader(m)
            case .candidate, .preCandidate: try stepCandidate(m)
            case .follower: try stepFollower(m)
            }
        }
    }

    /// Starts an election unless we are leader, cannot be one, or still have a committed
    /// configuration change to apply (campaigning under a stale configuration is unsafe).
    func hup(_ type: CampaignType) {
        if state == .leader { return }
        guard promotable else { return }
        if log.committed > log.applied {
            let lo = max(log.applied + 1, log.firstIndex)
            if lo <= log.committed, let ents = try? log.slice(lo, log.committed + 1, maxSize: .max),
               ents.contains(where: { $0.type != .normal }) {
                return
            }
        }
        campaign(type)
    }

    /// Decides whether to grant a (pre-)vote (§5.2, §5.4.1, thesis §9.6).
    private func handleVoteRequest(_ m: Message) {
        // We may vote if we already voted for this candidate, or have not voted and know of no
        // leader in this term, or this is a pre-vote for a later term.
        let canVote = vote == m.from
            || (vote == noNode && lead == noNode)
            || (m.type == .preVote && m.term > term)
        // Learners answer too: a learner promoted by a committed change it has not seen yet may
        // be needed to elect a leader, and a candidate that counts it as a voter knows better.
        if canVote && log.isUpToDate(lastIndex: m.index, lastTerm: m.logTerm) {
            // Answer with the term of the request: for pre-votes our own term may be lower, and
            // the pre-candidate would drop a response carrying it.
            send(Message(type: m.type.voteResponse, to: m.from, term: m.term))
            if m.type == .vote {
                electionElapsed = 0
                vote = m.from
            }
        } else {
            send(Message(type: m.type.voteResponse, to: m.from, term: term, reject: true))
        }
    }
}
