/// Computes the configuration (and progress map) that results from a membership change,
/// enforcing the rules of single-step and joint-consensus changes. Works on copies: nothing is
/// modified until the caller installs the result.
struct ConfChanger {
    /// The configuration and progress the change starts from.
    var tracker: ProgressTracker
    /// The leader's last log index, where new members start being probed.
    var lastIndex: UInt64

    typealias Result = (config: TrackerConfig, progress: ProgressMap)

    /// Enters a joint configuration: the current voters become the outgoing half, the changes
    /// are applied to the incoming half.
    func enterJoint(autoLeave: Bool, _ changes: [ConfChangeSingle]) throws(ConfChangeError) -> Result {
        var (cfg, prs) = try checkedCopy()
        if cfg.voters.isJoint { throw ConfChangeError("config is already joint") }
        if cfg.voters.incoming.isEmpty { throw ConfChangeError("can't make a zero-voter config joint") }
        cfg.voters.outgoing = cfg.voters.incoming
        try apply(&cfg, &prs, changes)
        cfg.autoLeave = autoLeave
        try checkInvariants(cfg, prs)
        return (cfg, prs)
    }

    /// Leaves the joint configuration: only the incoming voters remain, staged demotions take
    /// effect, and members that are in neither half any more are dropped.
    func leaveJoint() throws(ConfChangeError) -> Result {
        var (cfg, prs) = try checkedCopy()
        if !cfg.voters.isJoint { throw ConfChangeError("can't leave a non-joint config") }
        for id in cfg.learnersNext {
            cfg.learners.insert(id)
            prs[id]?.isLearner = true
        }
        cfg.learnersNext = []
        for id in cfg.voters.outgoing where !cfg.voters.incoming.contains(id) && !cfg.learners.contains(id) {
            prs.remove(id)
        }
        cfg.voters.outgoing = []
        cfg.autoLeave = false
        try checkInvariants(cfg, prs)
        return (cfg, prs)
    }

    /// Applies changes that alter at most one voter without a joint configuration.
    func simple(_ changes: [ConfChangeSingle]) throws(ConfChangeError) -> Result {
        var (cfg, prs) = try checkedCopy()
        if cfg.voters.isJoint { throw ConfChangeError("can't apply simple config change in joint config") }
        try apply(&cfg, &prs, changes)
        let before = tracker.config.voters.incoming
        let after = cfg.voters.incoming
        let changed = before.filter { !after.contains($0) }.count + after.filter { !before.contains($0) }.count
        if changed > 1 { throw ConfChangeError("more than one voter changed without entering joint config") }
        try checkInvariants(cfg, prs)
        return (cfg, prs)
    }

    /// Rebuilds the configuration described by `cs` (from a snapshot or at startup) by replaying
    /// the changes that lead to it from an empty configuration.
    static func restore(_ cs: ConfState, maxInflight: Int, lastIndex: UInt64) throws(ConfChangeError) -> Result {
        var chg = ConfChanger(tracker: ProgressTracker(maxInflight: maxInflight), lastIndex: lastIndex)
        func install(_ r: Result) {
            chg.tracker.config = r.config
            chg.tracker.progress = r.progress
        }
        var incoming: [ConfChangeSingle] = []
        for id in cs.voters { incoming.append(ConfChangeSingle(type: .addNode, nodeID: id)) }
        for id in cs.learners { incoming.append(ConfChangeSingle(type: .addLearnerNode, nodeID: id)) }
        if cs.votersOutgoing.isEmpty {
            for cc in incoming { install(try chg.simple([cc])) }
        } else {
            // Build the outgoing config first, then enter the joint config from it: remove the
            // outgoing voters and add everything of the incoming side (learnersNext are outgoing
            // voters demoted to learners on exit, which `addLearnerNode` stages correctly).
            for id in cs.votersOutgoing { install(try chg.simple([ConfChangeSingle(type: .addNode, nodeID: id)])) }
            var joint: [ConfChangeSingle] = cs.votersOutgoing.map { ConfChangeSingle(type: .removeNode, nodeID: $0) }
            joint += incoming
            for id in cs.learnersNext { joint.append(ConfChangeSingle(type: .addLearnerNode, nodeID: id)) }
            install(try chg.enterJoint(autoLeave: cs.autoLeave, joint))
        }
        return (chg.tracker.config, chg.tracker.progress)
    }

    // MARK: - Internals

    private func checkedCopy() throws(ConfChangeError) -> Result {
        let cfg = tracker.config
        let prs = tracker.progress.clone()
        try checkInvariants(cfg, prs)
        return (cfg, prs)
    }

    private func apply(_ cfg: inout TrackerConfig, _ prs: inout ProgressMap, _ changes: [ConfChangeSingle]) throws(ConfChangeError) {
        for cc in changes where cc.nodeID != noNode {
            switch cc.type {
            case .addNode: makeVoter(&cfg, &prs, cc.nodeID)
            case .addLearnerNode: makeLearner(&cfg, &prs, cc.nodeID)
            case .removeNode: remove(&cfg, &prs, cc.nodeID)
            case .updateNode: break
            }
        }
        if cfg.voters.incoming.isEmpty { throw ConfChangeError("removed all voters") }
    }

    private func makeVoter(_ cfg: inout TrackerConfig, _ prs: inout ProgressMap, _ id: UInt64) {
        guard let pr = prs[id] else {
            initProgress(&cfg, &prs, id, isLearner: false)
            return
        }
        pr.isLearner = false
        cfg.learners.remove(id)
        cfg.learnersNext.remove(id)
        cfg.voters.incoming.insert(id)
    }

    private func makeLearner(_ cfg: inout TrackerConfig, _ prs: inout ProgressMap, _ id: UInt64) {
        guard let pr = prs[id] else {
            initProgress(&cfg, &prs, id, isLearner: true)
            return
        }
        if pr.isLearner { return }
        // Drop it as a voter first, but keep its progress.
        remove(&cfg, &prs, id)
        prs.set(id, pr)
        if cfg.voters.outgoing.contains(id) {
            // Still a voter of the outgoing half: become a learner when the joint config is left.
            cfg.learnersNext.insert(id)
        } else {
            pr.isLearner = true
            cfg.learners.insert(id)
        }
    }

    private func remove(_ cfg: inout TrackerConfig, _ prs: inout ProgressMap, _ id: UInt64) {
        guard prs[id] != nil else { return }
        cfg.voters.incoming.remove(id)
        cfg.learners.remove(id)
        cfg.learnersNext.remove(id)
        // An outgoing voter keeps its progress until the joint config is left.
        if !cfg.voters.outgoing.contains(id) { prs.remove(id) }
    }

    private func initProgress(_ cfg: inout TrackerConfig, _ prs: inout ProgressMap, _ id: UInt64, isLearner: Bool) {
        if isLearner { cfg.learners.insert(id) } else { cfg.voters.incoming.insert(id) }
        // Probe the newcomer at the leader's last index; an empty follower will reject that and
        // be walked back (or sent a snapshot). It counts as active so that adding it cannot make
        // a check-quorum leader step down before it had a chance to answer.
        prs.set(id, Progress(next: max(lastIndex, 1), maxInflight: tracker.maxInflight, isLearner: isLearner, recentActive: true))
    }

    private func checkInvariants(_ cfg: TrackerConfig, _ prs: ProgressMap) throws(ConfChangeError) {
        for id in cfg.voters.ids.union(cfg.learners).union(cfg.learnersNext) where prs[id] == nil {
            throw ConfChangeError("no progress for \(id)")
        }
        for id in cfg.learnersNext {
            if !cfg.voters.outgoing.contains(id) { throw ConfChangeError("\(id) is in LearnersNext, but not Voters[1]") }
            if prs[id]!.isLearner { throw ConfChangeError("\(id) is in LearnersNext, but is already marked as learner") }
        }
        for id in cfg.learners {
            if cfg.voters.outgoing.contains(id) { throw ConfChangeError("\(id) is in Learners and Voters[1]") }
            if cfg.voters.incoming.contains(id) { throw ConfChangeError("\(id) is in Learners and Voters[0]") }
            if !prs[id]!.isLearner { throw ConfChangeError("\(id) is in Learners, but is not marked as learner") }
        }
        if !cfg.voters.isJoint {
            if !cfg.learnersNext.isEmpty { throw ConfChangeError("LearnersNext must be empty when not joint") }
            if cfg.autoLeave { throw ConfChangeError("AutoLeave must be false when not joint") }
        }
    }
}
