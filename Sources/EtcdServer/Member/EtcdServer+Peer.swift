import EtcdProto
import Foundation
import Transport

/// The calls followers forward to this member while it leads, and the peer listeners.
extension EtcdServer: ForwardedCallHandler {
    /// A keep-alive a follower forwarded: answered while this member leads.
    public func forwardedLeaseRenew(_ request: Etcdserverpb_LeaseKeepAliveRequest) async throws -> Etcdserverpb_LeaseKeepAliveResponse {
        guard isLeader else { throw PeerError.notLeader }
        return try leaseRenew(request.id)
    }

    /// A time-to-live lookup a follower forwarded: answered while this member leads.
    public func forwardedLeaseTimeToLive(_ request: Etcdserverpb_LeaseTimeToLiveRequest) async throws -> Etcdserverpb_LeaseTimeToLiveResponse {
        guard isLeader else { throw PeerError.notLeader }
        return leaseTimeToLive(request)
    }

    /// A learner promotion a follower forwarded: run while this member leads.
    public func forwardedMemberPromote(_ request: Etcdserverpb_MemberPromoteRequest) async throws -> Etcdserverpb_MemberPromoteResponse {
        guard isLeader else { throw PeerError.notLeader }
        return try await memberPromote(request)
    }

    /// Serves the Peer service on every `--listen-peer-urls` address (in the background); a
    /// listener that fails stops the member as failed.
    func startPeerListeners() {
        for url in config.listenPeerURLs {
            let transport = raft.transport
            let logger = self.logger
            let stopRequests = self.stopRequests
            keep(Task { [weak self] in
                guard let self else { return }
                do {
                    try await transport.serve(host: url.host, port: url.port, secure: url.scheme == "https", forwarded: self) {
                        logger.info("serving peer traffic", metadata: ["address": "\(url.hostPort)"])
                    }
                } catch {
                    if Task.isCancelled { return }
                    // A member that cannot hear its peers must not pretend to run (etcd exits too).
                    logger.critical("peer listener failed", metadata: ["address": "\(url.hostPort)", "error": "\(error)"])
                    stopRequests.request(.failed)
                }
            })
        }
    }

    /// Calls the leader's Peer service, waiting (within the request timeout) for a leader.
    func forwardToLeader<T: Sendable>(_ call: @Sendable (PeerClient) async throws -> T) async throws(EtcdError) -> T {
        do {
            return try await raft.transport.forwardToLeader(
                leader: { raft.leader }, until: .now + requestTimeout, retryInterval: config.heartbeatInterval, call)
        } catch {
            switch error {
            case .localIsLeader: throw .notLeader
            case .timedOut: throw .timeout
            case .refused(let code, let message): throw EtcdError(EtcdError.Code(rawValue: code) ?? .unknown, message)
            case .failed(let reason): throw EtcdError(.internalError, "etcdserver: \(reason)")
            }
        }
    }
}
