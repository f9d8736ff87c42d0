extension Raft {
    /// Applies a committed membership change and returns the resulting configuration. Throws
    /// (leaving the configuration untouched) if the change is invalid in the current
    /// configuration; since every node applies the same changes in the same order, every node
    /// rejects it alike.
    func applyConfChange(_ cc: ConfChangeV2) throws(ConfChangeError) -> ConfState {
        let changer = ConfChanger(tracker: trk, lastIndex: log.lastIndex)
        let result: ConfChanger.Result
        if cc.leaveJoint {
            result = try changer.leaveJoint()
        } else if let autoLeave = cc.enterJointAutoLeave {
            result = try changer.enterJoint(autoLeave: autoLeave, cc.changes)
        } else {
            result = try changer.simple(cc.changes)
        }
        return switchToConfig(result.config, result.progress)
    }

    /// Installs a new configuration and reacts to it: learner status, commit index (a smaller
    /// quorum may commit more), probing of new members, aborting a transfer to a removed node.
    @discardableResult
    func switchToConfig(_ cfg: TrackerConfig, _ prs: ProgressMap) -> ConfState {
        trk.config = cfg
        trk.progress = prs
        let cs = cfg.confState
        let me = trk.progress[id]
        isLearner = me?.isLearner ?? false

        if (me == nil || isLearner) && state == .leader {
            // This leader was removed or demoted. It keeps its role until the application shuts
            // it down (or a new leader's higher term arrives); it accepts no new proposals.
            return cs
        }
        guard state == .leader, !cs.voters.isEmpty else { return cs }

        if maybeCommit() {
            bcastAppend()
        } else {
            // Probe newcomers right away rather than at the next heartbeat.
            for (pid, _) in trk.members where pid != id {
                maybeSendAppend(to: pid, sendIfEmpty: false)
            }
        }
        if leadTransferee != noNode && trk.progress[leadTransferee] == nil {
            leadTransferee = noNode
        }
        return cs
    }
}
