import Auth
import EtcdProto
import Foundation
import Lease

extension EtcdServer {
    /// Grants a lease through the log (an ID is chosen when the request has none).
    public func leaseGrant(
        _ request: Etcdserverpb_LeaseGrantRequest, as caller: Credentials = .none
    ) async throws(EtcdError) -> Etcdserverpb_LeaseGrantResponse {
        try requireVoter()
        var request = request
        while request.id == 0 {
            // Like etcd: a server-chosen ID is a positive request ID.
            request.id = Int64(bitPattern: requestIDs.next() & (UInt64(1) << 63 - 1))
        }
        return try await proposed(.leaseGrant(request), as: caller)
    }

    /// Revokes a lease and deletes its keys, through the log (the caller needs write access
    /// to every key attached).
    public func leaseRevoke(
        _ request: Etcdserverpb_LeaseRevokeRequest, as caller: Credentials = .none
    ) async throws(EtcdError) -> Etcdserverpb_LeaseRevokeResponse {
        try requireVoter()
        return try await proposed(.leaseRevoke(request), as: caller)
    }

    /// A keep-alive from a client: answered here by the leader, forwarded to it otherwise.
    /// Under auth the caller needs write access to every key attached (etcd 3.6).
    public func leaseKeepAlive(_ id: Int64, as caller: Credentials = .none) async throws(EtcdError) -> Etcdserverpb_LeaseKeepAliveResponse {
        try requireVoter()
        let info = try await identify(caller)
        try permitted { state throws(AuthError) in try RequestAuthorization.checkLeaseWrite(id, as: info, in: state, leaseKeys: leaseKeys) }
        if isLeader { return try leaseRenew(id) }
        var keepAlive = Etcdserverpb_LeaseKeepAliveRequest()
        keepAlive.id = id
        let request = keepAlive
        var response = try await forwardToLeader { try await $0.leaseRenew(request) }
        response.header = header()
        return response
    }

    /// A lease's time to live, asked of the leader (which keeps lease time). Listing its
    /// keys needs read access to each of them under auth (etcd 3.6).
    public func leaseTimeToLiveFromLeader(
        _ request: Etcdserverpb_LeaseTimeToLiveRequest, as caller: Credentials = .none
    ) async throws(EtcdError) -> Etcdserverpb_LeaseTimeToLiveResponse {
        try requireVoter()
        let info = try await identify(caller)
        try permitted { state throws(AuthError) in
            try state.checkIdentified(info)
            if request.keys { try RequestAuthorization.checkLeaseRead(request.id, as: info, in: state, leaseKeys: leaseKeys) }
        }
        if isLeader { return leaseTimeToLive(request) }
        var response = try await forwardToLeader { try await $0.leaseTimeToLive(request) }
        response.header = header()
        return response
    }

    /// A keep-alive: the lease's TTL, or 0 when it does not exist (etcd's answer).
    public func leaseRenew(_ id: Int64) throws(EtcdError) -> Etcdserverpb_LeaseKeepAliveResponse {
        var response = Etcdserverpb_LeaseKeepAliveResponse()
        response.header = header()
        response.id = id
        do {
            response.ttl = try lessor.renew(id: id)
            metrics.leasesRenewed.increment()
        } catch .notFound {
            response.ttl = 0
        } catch {
            throw EtcdError(error)
        }
        return response
    }

    /// A lease's remaining and granted TTL (and keys); TTL -1 when it does not exist.
    public func leaseTimeToLive(_ request: Etcdserverpb_LeaseTimeToLiveRequest) -> Etcdserverpb_LeaseTimeToLiveResponse {
        var response = Etcdserverpb_LeaseTimeToLiveResponse()
        response.header = header()
        response.id = request.id
        guard let lease = lessor.lookup(request.id) else {
            response.ttl = -1
            return response
        }
        // Whole seconds left, truncated like Go's int64(Duration.Seconds()).
        response.ttl = lease.remaining.map { $0.components.seconds } ?? lease.grantedTTL
        response.grantedTtl = lease.grantedTTL
        if request.keys { response.keys = lease.keys.map { Data($0) } }
        return response
    }

    /// Every lease this member knows; under auth, for the root role or a caller that may
    /// read every key attached to any of them (etcd 3.6).
    public func leaseLeases(as caller: Credentials) async throws(EtcdError) -> Etcdserverpb_LeaseLeasesResponse {
        let info = try await identify(caller)
        try permitted { state throws(AuthError) in
            try state.checkIdentified(info)
            for id in lessor.leaseIDs { try RequestAuthorization.checkLeaseRead(id, as: info, in: state, leaseKeys: leaseKeys) }
        }
        return leaseLeases()
    }

    /// Every lease this member knows.
    public func leaseLeases() -> Etcdserverpb_LeaseLeasesResponse {
        var response = Etcdserverpb_LeaseLeasesResponse()
        response.header = header()
        response.leases = lessor.leaseIDs.map { id in
            var status = Etcdserverpb_LeaseStatus()
            status.id = id
            return status
        }
        return response
    }

    /// Revokes, through the log, leases whose time ran out (the lessor hands them over).
    func revokeExpired(_ ids: [Int64]) {
        for id in ids {
            var revoke = Etcdserverpb_LeaseRevokeRequest()
            revoke.id = id
            logger.debug("revoking expired lease", metadata: ["lease-id": "\(String(UInt64(bitPattern: id), radix: 16))"])
            proposeDetached(.leaseRevoke(revoke))
        }
    }
}
