extension Raft {
    /// The leader's step function: proposals, replication feedback, heartbeats, reads, transfers.
    func stepLeader(_ m: Message) throws(RaftError) {
        // Kinds that do not need a progress entry for the sender.
        switch m.type {
        case .beat:
            bcastHeartbeat()
            return
        case .checkQuorum:
            // We always count ourselves (if still a member).
            trk.progress[id]?.recentActive = true
            if !trk.quorumActive() {
                // No quorum heard from during a whole election timeout: we may be partitioned
                // away, and a new leader may exist. Step down (thesis §6.2).
                becomeFollower(term: term, lead: noNode)
            }
            for (pid, pr) in trk.members where pid != id {
                pr.recentActive = false
            }
            return
        case .prop:
            try propose(m)
            return
        case .readIndex:
            handleReadIndex(m)
            return
        default:
            break
        }

        guard let pr = trk.progress[m.from] else { return }
        switch m.type {
        case .appResp:
            pr.recentActive = true
            if m.reject {
                handleAppendRejection(m, pr)
            } else {
                handleAppendSuccess(m, pr)
            }
        case .heartbeatResp:
            pr.recentActive = true
            pr.probeSent = false
            // Free a slot of a full window so replication can make progress even if appends
            // were lost.
            if pr.state == .replicate && pr.inflights.isFull {
                pr.inflights.freeFirstOne()
            }
            if pr.match < log.lastIndex {
                sendAppend(to: m.from)
            }
            if readOnly.option == .safe && !m.context.isEmpty {
                confirmReads(ackFrom: m.from, context: m.context)
            }
        case .snapStatus:
            guard pr.state == .snapshot else { return }
            if m.reject {
                // The snapshot never arrived: probe from what is known to match.
                pr.pendingSnapshot = 0
            }
            pr.becomeProbe()
            // Wait for the follower's answer (or a heartbeat) before sending more.
            pr.probeSent = true
        case .unreachable:
            // Pipelined appends to an unreachable peer were probably lost.
            if pr.state == .replicate { pr.becomeProbe() }
        case .transferLeader:
            handleTransferLeader(from: m.from, pr)
        default:
            break
        }
    }

    // MARK: - Proposals

    private func propose(_ m: Message) throws(RaftError) {
        precondition(!m.entries.isEmpty, "stepped empty proposal")
        var entries = m.entries
        try appendProposal(&entries)
    }

    /// Appends proposed entries to the leader's log and replicates them.
    func appendProposal(_ entries: inout [Entry]) throws(RaftError) {
        // A leader removed from the configuration keeps running until it is shut down, but
        // takes no new work.
        if trk.progress[id] == nil { throw .proposalDropped }
        // New entries would delay the transferee catching up.
        if leadTransferee != noNode { throw .proposalDropped }

        for i in entries.indices where entries[i].type != .normal {
            let cc: ConfChangeV2?
            do {
                cc = try entries[i].decodeConfChange()
            } catch {
                throw .malformedConfChange(error)
            }
            guard let change = cc else { continue }
            let alreadyPending = pendingConfIndex > log.applied
            let alreadyJoint = trk.config.voters.isJoint
            let wantsLeaveJoint = change.changes.isEmpty
            if alreadyPending || (alreadyJoint && !wantsLeaveJoint) || (!alreadyJoint && wantsLeaveJoint) {
                // Only one change may be in flight (and a joint config must be left before
                // another change): neutralise this one but keep its slot in the log, so the
                // proposer sees it "applied" as a no-op.
                entries[i] = Entry(term: 0, index: 0, type: .normal)
            } else {
                pendingConfIndex = log.lastIndex + UInt64(i) + 1
            }
        }
        guard appendEntries(&entries) else { throw .proposalDropped }
        bcastAppend()
    }

    /// A proposal made on this node: appended directly when leading (without wrapping it in a
    /// message), otherwise handled like a `prop` message (forwarded or dropped).
    ///
    /// On the leader, replication is deferred until the next `Ready` is collected: messages
    /// only leave through `Ready` anyway, and this way every proposal made in between travels
    /// to each follower in one append message instead of one message per proposal.
    func proposeLocal(_ entry: Entry) throws(RaftError) {
        if state == .leader && entry.type == .normal {
            // The common case, without allocating an array for one entry.
            if trk.progress[id] == nil || leadTransferee != noNode { throw .proposalDropped }
            guard appendEntry(entry) else { throw .proposalDropped }
            appendsPending = true
        } else if state == .leader {
            var entries = [entry]
            try appendProposal(&entries)
        } else {
            try step(Message(type: .prop, from: id, entries: [entry]))
        }
    }

    /// Sends the appends deferred by `proposeLocal` (to followers that are not paused).
    func flushPendingAppends() {
        guard appendsPending else { return }
        appendsPending = false
        guard state == .leader else { return }
        var cache: AppendCache?
        for (pid, _) in trk.members where pid != id {
            _ = maybeSendAppend(to: pid, sendIfEmpty: false, cache: &cache)
        }
    }

    // MARK: - Replication feedback

    private func handleAppendRejection(_ m: Message, _ pr: Progress) {
        // The follower told us where its log may match (rejectHint) and the term there
        // (logTerm). Skip every index of ours whose term is higher: those cannot match.
        var nextProbe = m.rejectHint
        if m.logTerm > 0 {
            nextProbe = log.findConflictByTerm(index: m.rejectHint, term: m.logTerm)
        }
        if pr.maybeDecrTo(rejected: m.index, matchHint: nextProbe) {
            if pr.state == .replicate { pr.becomeProbe() }
            sendAppend(to: m.from)
        }
    }

    private func handleAppendSuccess(_ m: Message, _ pr: Progress) {
        let wasPaused = pr.isPaused
        guard pr.maybeUpdate(m.index) else { return }
        switch pr.state {
        case .probe:
            pr.becomeReplicate()
        case .snapshot where pr.match >= pr.pendingSnapshot:
            // Caught up past the snapshot: resume replication (through probe, which accounts
            // for the snapshot index).
            pr.becomeProbe()
            pr.becomeReplicate()
        case .replicate:
            pr.inflights.freeLE(m.index)
        case .snapshot:
            break
        }
        if maybeCommit() {
            // An entry of our term is committed: reads that waited for it can proceed.
            releasePendingReadIndexMessages()
            bcastAppend()
        } else if wasPaused {
            // The follower may not know the commit index yet.
            sendAppend(to: m.from)
        }
        // Fill the window (without empty messages).
        while maybeSendAppend(to: m.from, sendIfEmpty: false) {}
        if m.from == leadTransferee && pr.match == log.lastIndex {
            sendTimeoutNow(to: m.from)
        }
    }

    // MARK: - Leadership transfer

    private func handleTransferLeader(from transferee: UInt64, _ pr: Progress) {
        if pr.isLearner { return }
        if leadTransferee != noNode {
            if leadTransferee == transferee { return }
            leadTransferee = noNode
        }
        if transferee == id { return }
        // The transfer must finish within an election timeout, or it is abandoned.
        electionElapsed = 0
        leadTransferee = transferee
        if pr.match == log.lastIndex {
            sendTimeoutNow(to: transferee)
        } else {
            // Bring the transferee up to date first; timeoutNow follows its acknowledgement.
            sendAppend(to: transferee)
        }
    }

    func sendTimeoutNow(to target: UInt64) {
        send(Message(type: .timeoutNow, to: target))
    }

    // MARK: - ReadIndex (thesis §6.4)

    private func handleReadIndex(_ m: Message) {
        guard m.entries.count == 1 else { return }
        if trk.isSingleton {
            // Nobody else to ask: our commit index is authoritative.
            respondToReadIndex(m, index: log.committed)
            return
        }
        // Until an entry of this term is committed, our commit index may lag behind what
        // earlier leaders committed; hold the request until then.
        if !committedEntryInCurrentTerm {
            pendingReadIndexMessages.append(m)
            return
        }
        serveReadIndex(m)
    }

    private func serveReadIndex(_ m: Message) {
        switch readOnly.option {
        case .safe:
            // Record the commit index now, then confirm we are still leader with a heartbeat
            // round; the request (and every earlier one) is answered once a quorum acks.
            let ctx = m.entries[0].data
            readOnly.add(index: log.committed, request: m)
            confirmReads(ackFrom: id, context: ctx)
            bcastHeartbeat(context: ctx)
        case .leaseBased:
            respondToReadIndex(m, index: log.committed)
        }
    }

    private func confirmReads(ackFrom voter: UInt64, context: [UInt8]) {
        guard let acks = readOnly.recordAck(from: voter, context: context) else { return }
        guard trk.config.voters.voteResult({ acks.contains($0) ? true : nil }) == .won else { return }
        for pending in readOnly.release(through: context) {
            respondToReadIndex(pending.request, index: pending.index)
        }
    }

    private func respondToReadIndex(_ req: Message, index: UInt64) {
        if req.from == noNode || req.from == id {
            readStates.append(ReadState(index: index, requestContext: req.entries[0].data))
        } else {
            send(Message(type: .readIndexResp, to: req.from, index: index, entries: req.entries))
        }
    }

    func releasePendingReadIndexMessages() {
        guard !pendingReadIndexMessages.isEmpty, committedEntryInCurrentTerm else { return }
        let waiting = pendingReadIndexMessages
        pendingReadIndexMessages = []
        for m in waiting { serveReadIndex(m) }
    }
}
