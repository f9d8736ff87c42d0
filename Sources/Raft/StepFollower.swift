extension Raft {
    /// Candidates and pre-candidates: count votes, yield to a leader of this term.
    func stepCandidate(_ m: Message) throws(RaftError) {
        // Only answers to our own kind of candidacy count (a candidate may still receive
        // answers to the pre-vote round that promoted it).
        let myResponse: MessageType = state == .preCandidate ? .preVoteResp : .voteResp
        switch m.type {
        case .prop:
            throw .proposalDropped
        case .app:
            becomeFollower(term: m.term, lead: m.from)
            handleAppendEntries(m)
        case .heartbeat:
            becomeFollower(term: m.term, lead: m.from)
            handleHeartbeat(m)
        case .snap:
            becomeFollower(term: m.term, lead: m.from)
            handleSnapshot(m)
        case myResponse:
            switch poll(m.from, m.type, granted: !m.reject) {
            case .won:
                if state == .preCandidate {
                    campaign(.election)
                } else {
                    becomeLeader()
                    bcastAppend()
                }
            case .lost:
                // A rejected pre-vote may carry a higher term than ours; keep our own.
                becomeFollower(term: term, lead: noNode)
            case .pending:
                break
            }
        default:
            // timeoutNow and everything else: ignored while campaigning.
            break
        }
    }

    /// Re-addresses a request to the leader (it travels without a term, like a local message,
    /// except `transferLeader`, which `send` stamps).
    private func forwardToLeader(_ m: Message) {
        var fwd = m
        fwd.to = lead
        fwd.term = 0
        send(fwd)
    }

    /// Followers: forward client requests to the leader, accept its appends.
    func stepFollower(_ m: Message) throws(RaftError) {
        switch m.type {
        case .prop:
            if lead == noNode || disableProposalForwarding { throw .proposalDropped }
            forwardToLeader(m)
        case .app:
            electionElapsed = 0
            lead = m.from
            handleAppendEntries(m)
        case .heartbeat:
            electionElapsed = 0
            lead = m.from
            handleHeartbeat(m)
        case .snap:
            electionElapsed = 0
            lead = m.from
            handleSnapshot(m)
        case .transferLeader:
            guard lead != noNode else { return }
            forwardToLeader(m)
        case .timeoutNow:
            // The leader hands over (thesis §3.10): campaign at once, skipping pre-vote, since we
            // know the cluster is healthy.
            if promotable { campaign(.transfer) }
        case .readIndex:
            guard lead != noNode else { return }
            forwardToLeader(m)
        case .readIndexResp:
            guard m.entries.count == 1 else { return }
            readStates.append(ReadState(index: m.index, requestContext: m.entries[0].data))
        default:
            break
        }
    }
}
