import EtcdProto
import Foundation

/// Starting the member's background work, publishing it, and stopping it.
extension EtcdServer {
    /// Starts the member's background work: lease expiry, request timeouts, stop requests
    /// from its parts, publishing itself.
    func startBackgroundTasks() {
        lessor.startExpiry { [weak self] expired in self?.revokeExpired(expired) }
        let timeouts = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                self?.waits.expire(.timeout)
            }
        }
        let stopping = Task { [weak self, stopRequests] in
            for await reason in stopRequests.reasons {
                guard let self, !isStopped else { return }
                switch reason {
                case .removed(let linger):
                    try? await Task.sleep(for: linger)
                case .failed:
                    failed.store(true, ordering: .releasing)
                }
                // Off the cooperative pool: stopping joins the Raft thread.
                Thread.detachNewThread { [self] in stop() }
                return
            }
        }
        let publish = Task { [weak self] in
            guard let self else { return }
            await self.publish()
        }
        background.withLock { $0 += [timeouts, stopping, publish] }
        if let policy = config.autoCompaction {
            let compactor = Task { [weak self] in
                guard let self else { return }
                await self.runAutoCompaction(policy)
            }
            background.withLock { $0.append(compactor) }
        }
    }

    /// Proposes this member's name and client URLs until they are applied (etcd's publish),
    /// which is when the member is ready for clients.
    private func publish() async {
        var attributes = Swetcdpb_MemberAttributes()
        attributes.memberID = memberID
        attributes.name = config.name
        attributes.clientUrls = config.advertiseClientURLs.map(\.text)
        while !Task.isCancelled && !raft.isPublished {
            if raft.leader == 0 {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            do {
                // Applied once is published: the loop's flag is only set after the apply
                // answered this call, so checking it again would propose a second time.
                _ = try await propose(.memberAttributes(attributes))
                return
            } catch {
                logger.warning("failed to publish local member to cluster through raft", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Stops accepting requests, finishes what is in flight and closes the files. Returns
    /// once all of that is done, also when another thread had begun stopping the member.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else {
            stopFinished.lock()
            while !hasStopFinished.load(ordering: .acquiring) { stopFinished.wait() }
            stopFinished.unlock()
            return
        }
        defer {
            stopFinished.lock()
            hasStopFinished.store(true, ordering: .releasing)
            stopFinished.broadcast()
            stopFinished.unlock()
        }
        for task in background.withLock({ $0 }) { task.cancel() }
        lessor.stopExpiry()
        raft.transport.stop()
        raft.stop()
        store.close()
        waits.failAll(.stopped)
        do { try backend.close() } catch {
            logger.error("failed to close backend", metadata: ["error": "\(error)"])
        }
        logger.info("stopped etcd server", metadata: ["local-member-id": "\(MemberIdentity.hex(memberID))"])
    }

    /// Whether the member stopped because of a failure rather than being asked to.
    public var hasFailed: Bool { failed.load(ordering: .acquiring) }

    /// Adds a background task that the server cancels when it stops.
    func keep(_ task: Task<Void, Never>) {
        background.withLock { $0.append(task) }
    }

    /// Whether the member stopped (asked to, or removed from the cluster).
    public var isStopped: Bool { stopped.load(ordering: .acquiring) }
}
