import EtcdProto

/// The Maintenance service's status and hash, and the sampled metrics.
extension EtcdServer {
    /// Brings the gauges that are sampled rather than counted up to date (before a scrape).
    public func refreshMetrics() {
        if let size = try? backend.size() { metrics.dbTotalSize.record(size) }
        if let inUse = try? backend.sizeInUse() { metrics.dbSizeInUse.record(inUse) }
        metrics.keys.record(store.liveKeyCount)
        metrics.watchers.record(store.watchable.watcherCount)
        metrics.proposalsPending.record(waits.count)
        metrics.isLearner.record(isLearner ? 1 : 0)
        metrics.process.refresh()
    }

    /// This member's Status: version, database sizes, Raft indexes, leader.
    public func status() throws(EtcdError) -> Etcdserverpb_StatusResponse {
        var response = Etcdserverpb_StatusResponse()
        response.header = header()
        response.version = ServerVersion.server
        do {
            response.dbSize = try backend.size()
            response.dbSizeInUse = try backend.sizeInUse()
        } catch {
            throw EtcdError.wrapping(error)
        }
        response.leader = raft.leader
        response.raftIndex = raft.committedIndex
        response.raftTerm = term
        response.raftAppliedIndex = raft.appliedIndex
        response.isLearner = isLearner
        return response
    }

    /// The HashKV of the store at `revision` (0 = newest).
    public func hashKV(revision: Int64) throws(EtcdError) -> Etcdserverpb_HashKVResponse {
        do {
            let result = try store.hash(atRevision: revision)
            var response = Etcdserverpb_HashKVResponse()
            response.header = header(revision: result.revision)
            response.hash = result.hash
            response.compactRevision = result.compactRevision
            response.hashRevision = result.revision
            return response
        } catch {
            throw EtcdError.wrapping(error)
        }
    }
}
