import EtcdProto
import Foundation
import GRPCCore
import SwiftProtobuf

/// The Lease section, and the Lock and Election one (sessions on leases).
extension Scenario {
    func leases() async {
        await call("grant client-chosen 0x1234") { try await c.lease.leaseGrant(grantRequest(0x1234, 100)) }
        await call("timetolive right after grant") { try await c.lease.leaseTimeToLive(ttlRequest(0x1234, keys: false)) }
        await call("grant 0x1234 again") { try await c.lease.leaseGrant(grantRequest(0x1234, 100)) }
        await call("grant too large TTL") { try await c.lease.leaseGrant(grantRequest(0x1235, 9_000_000_001)) }
        await call("grant max TTL") { try await c.lease.leaseGrant(grantRequest(0x1236, 9_000_000_000)) }
        await call("grant TTL 1 (minimum)") { try await c.lease.leaseGrant(grantRequest(0x1237, 1)) }
        await call("grant TTL 0") { try await c.lease.leaseGrant(grantRequest(0x1238, 0)) }
        await call("grant TTL negative") { try await c.lease.leaseGrant(grantRequest(0x1239, -5)) }
        await call("grant negative ID") { try await c.lease.leaseGrant(grantRequest(-7, 100)) }
        // A server-chosen ID: member-local, only its shape is compared.
        var chosen: Int64 = 0
        await call("grant server-chosen", normalize: { (r: inout Etcdserverpb_LeaseGrantResponse) in
            chosen = r.id
            r.id = r.id >> 48 == 0x694d ? 1 : -1
        }) { try await c.lease.leaseGrant(grantRequest(0, 50)) }
        await call("revoke server-chosen", normalize: { _ in }) { try await c.lease.leaseRevoke(revokeRequest(chosen)) }
        for lease in [0x1236, 0x1237, 0x1238, 0x1239, -7] as [Int64] {
            await call("revoke \(lease)") { try await c.lease.leaseRevoke(revokeRequest(lease)) }
        }
        await call("put k1 with lease") { var r = putRequest("lease/k1", "1"); r.lease = 0x1234; return try await c.kv.put(r) }
        await call("put k2 with lease") { var r = putRequest("lease/k2", "2"); r.lease = 0x1234; r.prevKv = true; return try await c.kv.put(r) }
        await call("put k3 with lease") { var r = putRequest("lease/k3", "3"); r.lease = 0x1234; return try await c.kv.put(r) }
        await call("put k3 ignore_lease") { var r = putRequest("lease/k3", "3b"); r.ignoreLease = true; return try await c.kv.put(r) }
        await call("put k2 without lease (detaches)") { try await c.kv.put(putRequest("lease/k2", "2b")) }
        let keepAlive = keepAliveStream()
        keepAlive.send(keepAliveRequest(0x1234))
        await step("keepalive 0x1234", keepAlive)
        await call("timetolive with keys after keepalive", normalize: sortKeys) { try await c.lease.leaseTimeToLive(ttlRequest(0x1234, keys: true)) }
        keepAlive.send(keepAliveRequest(0x9999))
        await step("keepalive missing lease", keepAlive)
        keepAlive.send(keepAliveRequest(0x1234))
        keepAlive.send(keepAliveRequest(0x5001))
        await step("keepalive twice", keepAlive)
        await keepAlive.close()
        await call("timetolive missing lease") { try await c.lease.leaseTimeToLive(ttlRequest(0x9999, keys: true)) }
        await call("timetolive 0") { try await c.lease.leaseTimeToLive(ttlRequest(0, keys: false)) }
        await call("leases", normalize: { (r: inout Etcdserverpb_LeaseLeasesResponse) in
            // etcd lists them in map order; the order is not part of the contract.
            r.leases.sort { $0.id < $1.id }
        }) { try await c.lease.leaseLeases(Etcdserverpb_LeaseLeasesRequest()) }
        await call("range lease keys") { try await c.kv.range(rangeRequest("lease/", "lease0")) }
        await call("revoke 0x1234") { try await c.lease.leaseRevoke(revokeRequest(0x1234)) }
        await call("range lease keys after revoke") { try await c.kv.range(rangeRequest("lease/", "lease0")) }
        await call("revoke 0x1234 again") { try await c.lease.leaseRevoke(revokeRequest(0x1234)) }
        await call("revoke 0") { try await c.lease.leaseRevoke(revokeRequest(0)) }
        await call("put with revoked lease") { var r = putRequest("lease/k4", "4"); r.lease = 0x1234; return try await c.kv.put(r) }
        await call("timetolive revoked") { try await c.lease.leaseTimeToLive(ttlRequest(0x1234, keys: true)) }
    }

    /// etcd lists a lease's keys in Go map order; the order is not part of the contract.
    func sortKeys(_ response: inout Etcdserverpb_LeaseTimeToLiveResponse) {
        response.keys.sort { $0.lexicographicallyPrecedes($1) }
    }

    func lockAndElection() async {
        await call("grant 0x3000") { try await c.lease.leaseGrant(grantRequest(0x3000, 100)) }
        await call("lock") { var r = V3lockpb_LockRequest(); r.name = Data("mylock".utf8); r.lease = 0x3000; return try await c.lock.lock(r) }
        await call("lock again, same lease (reentrant)") { var r = V3lockpb_LockRequest(); r.name = Data("mylock".utf8); r.lease = 0x3000; return try await c.lock.lock(r) }
        await call("lock key") { try await c.kv.range(rangeRequest("mylock/", "mylock0")) }
        await call("unlock") { var r = V3lockpb_UnlockRequest(); r.key = Data("mylock/3000".utf8); return try await c.lock.unlock(r) }
        await call("unlock again") { var r = V3lockpb_UnlockRequest(); r.key = Data("mylock/3000".utf8); return try await c.lock.unlock(r) }
        await call("lock with missing lease") { var r = V3lockpb_LockRequest(); r.name = Data("mylock".utf8); r.lease = 0x4000; return try await c.lock.lock(r) }
        await call("leader, no campaign") { var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r) }
        await call("campaign") {
            var r = V3electionpb_CampaignRequest()
            r.name = Data("el".utf8); r.lease = 0x3000; r.value = Data("v1".utf8)
            return try await c.election.campaign(r)
        }
        await call("leader") { var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r) }
        let leader: V3electionpb_LeaderKey = {
            var key = V3electionpb_LeaderKey()
            key.name = Data("el".utf8); key.key = Data("el/3000".utf8); key.lease = 0x3000
            return key
        }()
        var current = leader
        await call("leader key revision", normalize: { (r: inout V3electionpb_LeaderResponse) in current.rev = r.kv.createRevision }) {
            var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r)
        }
        let owner = current
        await call("proclaim") { var r = V3electionpb_ProclaimRequest(); r.leader = owner; r.value = Data("v2".utf8); return try await c.election.proclaim(r) }
        await call("leader after proclaim") { var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r) }
        await call("proclaim with a wrong revision") {
            var r = V3electionpb_ProclaimRequest(); r.leader = leader; r.leader.rev = 1; r.value = Data("v3".utf8)
            return try await c.election.proclaim(r)
        }
        await call("campaign again with the same lease") {
            var r = V3electionpb_CampaignRequest()
            r.name = Data("el".utf8); r.lease = 0x3000; r.value = Data("v4".utf8)
            return try await c.election.campaign(r)
        }
        await call("resign") { var r = V3electionpb_ResignRequest(); r.leader = owner; return try await c.election.resign(r) }
        await call("leader after resign") { var r = V3electionpb_LeaderRequest(); r.name = Data("el".utf8); return try await c.election.leader(r) }
        await call("resign again") { var r = V3electionpb_ResignRequest(); r.leader = owner; return try await c.election.resign(r) }
        await call("proclaim without leader") { var r = V3electionpb_ProclaimRequest(); r.value = Data("x".utf8); return try await c.election.proclaim(r) }
        await call("resign without leader") { try await c.election.resign(V3electionpb_ResignRequest()) }
        await call("campaign with a missing lease") {
            var r = V3electionpb_CampaignRequest()
            r.name = Data("el2".utf8); r.lease = 0x4000; r.value = Data("v".utf8)
            return try await c.election.campaign(r)
        }
        await call("revoke 0x3000") { try await c.lease.leaseRevoke(revokeRequest(0x3000)) }
        // Without a lease, etcd's session recipe grants one (TTL 60): its ID is server-chosen
        // (normalised, and the lease revoked again so that later ranges and hashes compare).
        var sessionLeases: [Int64] = []
        await call("lock without lease", normalize: { (r: inout V3lockpb_LockResponse) in
            let text = String(decoding: r.key, as: UTF8.self)
            if let id = text.split(separator: "/").last.flatMap({ UInt64($0, radix: 16) }) { sessionLeases.append(Int64(bitPattern: id)) }
            r.key = Self.normalizeLeaseHex(r.key)
        }) {
            var r = V3lockpb_LockRequest(); r.name = Data("nolease".utf8); return try await c.lock.lock(r)
        }
        await call("lock key without lease", normalize: { (r: inout Etcdserverpb_RangeResponse) in
            for index in r.kvs.indices {
                r.kvs[index].key = Self.normalizeLeaseHex(r.kvs[index].key)
                r.kvs[index].lease = r.kvs[index].lease >> 48 == 0x694d ? 1 : r.kvs[index].lease
            }
        }) { try await c.kv.range(rangeRequest("nolease/", "nolease0")) }
        await call("campaign without lease", normalize: { (r: inout V3electionpb_CampaignResponse) in
            sessionLeases.append(r.leader.lease)
            r.leader.key = Self.normalizeLeaseHex(r.leader.key)
            r.leader.lease = r.leader.lease >> 48 == 0x694d ? 1 : r.leader.lease
        }) {
            var r = V3electionpb_CampaignRequest(); r.name = Data("el3".utf8); r.value = Data("v".utf8)
            return try await c.election.campaign(r)
        }
        for lease in sessionLeases {
            await call("revoke a session lease") { try await c.lease.leaseRevoke(revokeRequest(lease)) }
        }
        await call("session keys after revoke") { try await c.kv.range(rangeRequest("el3/", "el30")) }
    }

    /// A key `<name>/<lease hex>` whose lease the server chose: the hex part replaced.
    static func normalizeLeaseHex(_ key: Data) -> Data {
        let text = String(decoding: key, as: UTF8.self)
        guard let slash = text.lastIndex(of: "/"), text[text.index(after: slash)...].hasPrefix("694d") else { return key }
        return Data((text[...slash] + "<LEASE>").utf8)
    }
}
