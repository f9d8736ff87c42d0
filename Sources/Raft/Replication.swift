extension Raft {
    // MARK: - Leader side

    /// Sends an append (or a snapshot) to `to`, even if it carries no entries.
    func sendAppend(to: UInt64) {
        _ = maybeSendAppend(to: to, sendIfEmpty: true)
    }

    /// Sends the next batch of entries to `to` if flow control allows; an empty append (which
    /// still carries the commit index) only if `sendIfEmpty`. Falls back to a snapshot when
    /// the entries the follower needs were compacted. Returns whether something was sent.
    @discardableResult
    func maybeSendAppend(to: UInt64, sendIfEmpty: Bool) -> Bool {
        var cache: AppendCache?
        return maybeSendAppend(to: to, sendIfEmpty: sendIfEmpty, cache: &cache)
    }

    /// The entries read for the last follower, reused by the next one that needs the same
    /// ones (in steady state every follower does), so a broadcast allocates them once.
    struct AppendCache {
        var from: UInt64
        var entries: [Entry]
    }

    func maybeSendAppend(to: UInt64, sendIfEmpty: Bool, cache: inout AppendCache?) -> Bool {
        guard let pr = trk.progress[to], !pr.isPaused else { return false }
        let prevIndex = pr.next - 1
        let prevTerm: UInt64?
        var ents: [Entry]?
        do { prevTerm = try log.term(prevIndex) } catch { prevTerm = nil }
        if let c = cache, c.from == pr.next {
            ents = c.entries
        } else {
            do { ents = try log.entries(from: pr.next, maxSize: maxMsgSize) } catch { ents = nil }
            if let e = ents, !e.isEmpty { cache = AppendCache(from: pr.next, entries: e) }
        }
        if (ents?.isEmpty ?? true) && !sendIfEmpty { return false }

        guard let logTerm = prevTerm, let entries = ents else {
            return sendSnapshot(to: to, pr)
        }
        if let last = entries.last?.index {
            switch pr.state {
            case .replicate:
                // Pipeline: assume it arrives and move on.
                pr.optimisticUpdate(last)
                pr.inflights.add(last)
            case .probe:
                pr.probeSent = true
            case .snapshot:
                preconditionFailure("sending append to \(to) while it awaits a snapshot")
            }
        }
        send(Message(type: .app, to: to, logTerm: logTerm, index: prevIndex, entries: entries, commit: log.committed))
        return true
    }

    private func sendSnapshot(to: UInt64, _ pr: Progress) -> Bool {
        // Only bother a follower we heard from recently; a dead one would just waste the work.
        guard pr.recentActive else { return false }
        let snap: Snapshot
        do {
            snap = try log.snapshot()
        } catch .snapshotTemporarilyUnavailable {
            return false
        } catch {
            preconditionFailure("unexpected error getting snapshot: \(error)")
        }
        precondition(!snap.isEmpty, "need non-empty snapshot")
        pr.becomeSnapshot(snap.metadata.index)
        send(Message(type: .snap, to: to, snapshot: snap))
        return true
    }

    /// Appends (or probes) to every other member.
    func bcastAppend() {
        var cache: AppendCache?
        for (pid, _) in trk.members where pid != id {
            _ = maybeSendAppend(to: pid, sendIfEmpty: true, cache: &cache)
        }
    }

    /// Heartbeats every other member, carrying the newest pending ReadIndex context (if any)
    /// so that the acknowledgements also confirm pending reads.
    func bcastHeartbeat() {
        bcastHeartbeat(context: readOnly.lastPendingContext ?? [])
    }

    func bcastHeartbeat(context: [UInt8]) {
        for (pid, pr) in trk.members where pid != id {
            // Never tell a follower to commit beyond what it is known to have: it might not
            // have those entries, or have different ones.
            let commit = min(pr.match, log.committed)
            send(Message(type: .heartbeat, to: pid, commit: commit, context: context))
        }
    }

    // MARK: - Follower side

    /// The consistency check and log repair of §5.3.
    func handleAppendEntries(_ m: Message) {
        if m.index < log.committed {
            // Everything up to our commit index matches the leader (Log Matching); say so.
            send(Message(type: .appResp, to: m.from, index: log.committed))
            return
        }
        if let lastNew = log.maybeAppend(index: m.index, logTerm: m.logTerm, committed: m.commit, entries: m.entries) {
            send(Message(type: .appResp, to: m.from, index: lastNew))
            return
        }
        // Mismatch at m.index. Help the leader skip ahead: point it at the last entry of ours
        // (at or below m.index) whose term is at most m.logTerm; everything after it is certain
        // to mismatch.
        var hint = min(m.index, log.lastIndex)
        hint = log.findConflictByTerm(index: hint, term: m.logTerm)
        send(Message(type: .appResp, to: m.from, logTerm: log.termOrZero(hint), index: m.index,
                     reject: true, rejectHint: hint))
    }

    func handleHeartbeat(_ m: Message) {
        log.commitTo(m.commit)  // `dropReason` let no commit beyond the log through
        send(Message(type: .heartbeatResp, to: m.from, context: m.context))
    }

    func handleSnapshot(_ m: Message) {
        guard let snap = m.snapshot else { return }
        if restore(snap) {
            send(Message(type: .appResp, to: m.from, index: log.lastIndex))
        } else {
            send(Message(type: .appResp, to: m.from, index: log.committed))
        }
    }

    /// Installs a snapshot from the leader (log and configuration). Returns false if it was
    /// ignored: not newer than our commit index, not meant for us, or matching our log (then
    /// only the commit index moves).
    func restore(_ s: Snapshot) -> Bool {
        if s.metadata.index <= log.committed { return false }
        guard state == .follower else {
            // Cannot happen (snapshots come from a leader, which makes us a follower first);
            // bail out safely if it ever does.
            becomeFollower(term: term + 1, lead: noNode)
            return false
        }
        let cs = s.metadata.confState
        guard cs.voters.contains(id) || cs.learners.contains(id) || cs.votersOutgoing.contains(id) else {
            // A snapshot of a configuration we are not part of: ignore it.
            return false
        }
        if log.matchTerm(s.metadata.index, s.metadata.term) {
            log.commitTo(s.metadata.index)
            return false
        }
        log.restore(s)
        do {
            let (cfg, prs) = try ConfChanger.restore(cs, maxInflight: trk.maxInflight, lastIndex: log.lastIndex)
            var fresh = ProgressTracker(maxInflight: trk.maxInflight)
            fresh.config = cfg
            fresh.progress = prs
            trk = fresh
            switchToConfig(cfg, prs)
        } catch {
            preconditionFailure("unable to restore config \(cs): \(error)")
        }
        if let pr = trk.progress[id] {
            pr.maybeUpdate(pr.next - 1)
        }
        return true
    }
}
