import EtcdProto
import Foundation
import Synchronization

/// A leader election over a key prefix, on a ``Session`` (etcd's clientv3
/// `concurrency.Election` recipe). The leader is the candidate with the oldest key; its value
/// is the leader's proclamation.
///
/// ```swift
/// let session = try await Session(client: client, ttl: 10)
/// let election = Election(session: session, prefix: "service/leader")
/// try await election.campaign(value: "node-1")        // waits until elected
/// try await election.proclaim(value: "node-1 at 10.0.0.1")
/// // elsewhere: follow the leader
/// for try await leader in election.observe() { print("leader:", leader.kvs.first?.value ?? "") }
/// try await election.resign()
/// ```
public final class Election: Sendable {
    public let session: Session
    /// The prefix of the candidates' keys (ends with `/`).
    public let prefix: EtcdBytes
    private let state = Synchronization.Mutex(State())

    private struct State {
        var leaderKey: EtcdBytes?
        var leaderRevision: Int64 = 0
        var header: ResponseHeader?
    }

    public init(session: Session, prefix: String) {
        self.session = session
        self.prefix = EtcdBytes(prefix + "/")
    }

    private var client: EtcdClient { session.client }

    /// This candidate's key, while campaigning or leading.
    public var key: EtcdBytes? { state.withLock { $0.leaderKey } }
    /// The create revision of this candidate's key.
    public var revision: Int64 { state.withLock { $0.leaderRevision } }
    public var header: ResponseHeader? { state.withLock { $0.header } }

    /// Puts this candidate up with `value` and waits until it leads. Cancelling the waiting
    /// task withdraws the candidacy.
    public func campaign(value: EtcdBytes) async throws {
        let key = prefix + EtcdBytes(String(UInt64(bitPattern: session.lease.rawValue), radix: 16))
        let response = try await client.kv.txn(
            if: [.createRevision(.key(key), .equal, 0)],
            then: [.put(key, value, PutOptions(lease: session.lease))],
            else: [.get(.key(key))])
        var revision = response.header.revision
        if !response.succeeded, let existing = response.raw.responses.first?.responseRange.kvs.first {
            revision = existing.createRevision
        }
        state.withLock { state in
            state.leaderKey = key
            state.leaderRevision = revision
        }
        if !response.succeeded, let existing = response.raw.responses.first?.responseRange.kvs.first,
           existing.value != value.data
        {
            do {
                try await proclaim(value: value)
            } catch {
                try? await resign()
                throw error
            }
        }
        do {
            _ = try await waitForDeletions(client: client, prefix: prefix, maxCreateRevision: revision - 1)
        } catch {
            if Task.isCancelled {
                let cleanup = Task { try? await self.resign() }
                await cleanup.value
            } else {
                state.withLock { $0.leaderKey = nil }
            }
            throw error
        }
        state.withLock { $0.header = response.header }
    }

    /// Replaces the leader's value; throws ``EtcdError/Kind/electionNotLeader`` unless this
    /// candidate still leads.
    public func proclaim(value: EtcdBytes) async throws {
        guard let (key, revision) = state.withLock({ s in s.leaderKey.map { ($0, s.leaderRevision) } }) else {
            throw EtcdError(.electionNotLeader)
        }
        let response = try await client.kv.txn(
            if: [.createRevision(.key(key), .equal, revision)],
            then: [.put(key, value, PutOptions(lease: session.lease))])
        guard response.succeeded else {
            state.withLock { $0.leaderKey = nil }
            throw EtcdError(.electionNotLeader)
        }
        state.withLock { $0.header = response.header }
    }

    /// Gives up the candidacy or leadership.
    public func resign() async throws {
        guard let (key, revision) = state.withLock({ s in s.leaderKey.map { ($0, s.leaderRevision) } }) else {
            return
        }
        defer { state.withLock { $0.leaderKey = nil } }
        let response = try await client.kv.txn(
            if: [.createRevision(.key(key), .equal, revision)], then: [.delete(.key(key))])
        state.withLock { $0.header = response.header }
    }

    /// The current leader's key and value; throws ``EtcdError/Kind/electionNoLeader`` if
    /// nobody leads.
    public func leader() async throws -> GetResponse {
        let response = try await client.kv.get(.prefix(prefix), options: .firstCreated)
        if response.raw.kvs.isEmpty { throw EtcdError(.electionNoLeader) }
        return response
    }

    /// The leader as it changes: the current one (waiting for one if there is none), then its
    /// new proclamations, then its successors. Each element holds one key-value pair; its
    /// header's revision is the pair's modification revision.
    public func observe() -> AsyncThrowingStream<GetResponse, any Error> {
        let client = self.client
        let prefix = self.prefix
        let (stream, continuation) = AsyncThrowingStream<GetResponse, any Error>.makeStream()
        let task = Task {
            do {
                try await Self.observe(client: client, prefix: prefix) { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private static func observe(client: EtcdClient, prefix: EtcdBytes,
                                deliver: (GetResponse) -> Void) async throws {
        while true {
            try Task.checkCancellation()
            let current = try await client.kv.get(.prefix(prefix), options: .firstCreated)
            var header = current.raw.header
            var leader: Mvccpb_KeyValue
            if let first = current.raw.kvs.first {
                leader = first
            } else {
                // Nobody leads: wait for the first candidate.
                var found: (Etcdserverpb_ResponseHeader, Mvccpb_KeyValue)?
                let watch = client.watch.watch(.prefix(prefix), options: WatchOptions(startRevision: header.revision))
                loop: for try await response in watch {
                    for event in response.raw.events where event.type == .put {
                        found = (response.raw.header, event.kv)
                        break loop
                    }
                }
                guard let found else { throw EtcdError(kind: .other, code: .unknown, message: "election: observer lost") }
                (header, leader) = found
                header.revision = leader.modRevision
            }
            deliver(Self.response(header, leader))
            // Follow this leader until its key goes.
            let watch = client.watch.watch(.key(EtcdBytes(leader.key)), options: WatchOptions(startRevision: header.revision + 1))
            following: for try await response in watch {
                for event in response.raw.events {
                    if event.type == .delete { break following }
                    deliver(Self.response(response.raw.header, event.kv))
                }
            }
        }
    }

    private static func response(_ header: Etcdserverpb_ResponseHeader, _ kv: Mvccpb_KeyValue) -> GetResponse {
        var raw = Etcdserverpb_RangeResponse()
        raw.header = header
        raw.kvs = [kv]
        return GetResponse(raw: raw)
    }
}
