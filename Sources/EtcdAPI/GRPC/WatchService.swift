import EtcdProto
import EtcdServer
import Foundation
import LeanGRPC
import Synchronization

/// `etcdserverpb.Watch`: one bidirectional stream carries many watches.
enum WatchService {
    static func register(_ server: EtcdServer, in routes: inout GRPCRoutes) {
        routes.streaming(Etcdserverpb_Watch.Method.Watch.descriptor) {
            (requests: GRPCRequestStream<Etcdserverpb_WatchRequest>, responses: GRPCResponseWriter<Etcdserverpb_WatchResponse>) in
            try await watch(requests, responses, server: server, caller: Credentials(requests.head))
        }
    }

    static func watch(
        _ request: GRPCRequestStream<Etcdserverpb_WatchRequest>, _ response: GRPCResponseWriter<Etcdserverpb_WatchResponse>,
        server: EtcdServer, caller: Credentials
    ) async throws {
        try server.requireVoter()
        let session = WatchSession(server: server, caller: caller)
        defer { session.stream.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // A client that stops sending keeps its watches (as with etcd); only
                // cancelling the RPC ends them.
                for try await message in request { await session.handle(message) }
                try await Task.sleep(for: .seconds(Int64.max / 2))
            }
            group.addTask { try await session.send { try await response.write(contentsOf: $0) } }
            group.addTask { try await session.notifyProgressPeriodically() }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// The state of one watch RPC: the store-side stream plus the per-watch options that
/// shape responses (previous values, fragmenting, progress notifications).
final class WatchSession: Sendable {
    let server: EtcdServer
    let stream: MemberWatchStream
    /// Who opened the stream: every watch it creates needs read access to its whole range.
    let caller: Credentials
    private struct Options {
        var prevKV: Set<Int64> = []
        var fragment: Set<Int64> = []
        /// Watches asking for progress notifications → whether they had no events since the
        /// last tick (and so are due one).
        var progress: [Int64: Bool] = [:]

        mutating func record(_ create: Etcdserverpb_WatchCreateRequest, id: Int64) {
            if create.prevKv { prevKV.insert(id) }
            if create.fragment { fragment.insert(id) }
            if create.progressNotify { progress[id] = true }
        }

        mutating func forget(_ id: Int64) {
            prevKV.remove(id)
            fragment.remove(id)
            progress.removeValue(forKey: id)
        }
    }
    private let options = Mutex(Options())

    init(server: EtcdServer, caller: Credentials) {
        self.server = server
        self.caller = caller
        stream = server.makeWatchStream()
    }

    func handle(_ message: Etcdserverpb_WatchRequest) async {
        switch message.requestUnion {
        case .createRequest(let create):
            if let refusal = await server.watchRefusal(key: create.key, rangeEnd: create.rangeEnd, as: caller) {
                return stream.reject(reason: refusal)
            }
            let id = create.watchID != 0 ? create.watchID : stream.takeAutomaticID()
            // The options go in before the watch exists, so its first events already see them.
            let taken = stream.hasWatch(id)
            if !taken { options.withLock { $0.record(create, id: id) } }
            let created = stream.watch(
                id: id, key: create.key, rangeEnd: create.rangeEnd, startRevision: create.startRevision,
                skipPuts: create.filters.contains(.noput), skipDeletes: create.filters.contains(.nodelete))
            if created == nil, !taken {
                options.withLock { $0.forget(id) }
            }
        case .cancelRequest(let cancel):
            if stream.cancel(id: cancel.watchID) {
                options.withLock { $0.forget(cancel.watchID) }
            }
        case .progressRequest:
            stream.requestProgress()
        case nil:
            break
        }
    }

    /// Hands everything the stream delivers to `write`, as many responses at a time as are
    /// ready, until the stream closes or the task is cancelled.
    func send(_ write: ([Etcdserverpb_WatchResponse]) async throws -> Void) async throws {
        while let outputs = await withTaskCancellationHandler(
            operation: { await stream.nextBatch() }, onCancel: { stream.close() })
        {
            try await write(outputs.flatMap(responses(for:)))
        }
    }

    /// etcd's progress ticker: watches that asked for it and got no events during an interval
    /// are told the current revision (if they are caught up).
    func notifyProgressPeriodically() async throws {
        let interval = server.config.watchProgressNotifyInterval
        guard interval > .zero else { return }
        while true {
            try await Task.sleep(for: interval)
            let due = options.withLock { options -> [Int64] in
                var due: [Int64] = []
                for (id, idle) in options.progress {
                    if idle { due.append(id) }
                    options.progress[id] = true
                }
                return due
            }
            for id in due { stream.requestProgress(watchID: id) }
        }
    }

    private func responses(for output: MemberWatchStream.Output) -> [Etcdserverpb_WatchResponse] {
        var message = Etcdserverpb_WatchResponse()
        switch output {
        case .created(let id, let revision):
            message.header = server.watchHeader(revision: revision)
            message.watchID = id
            message.created = true
        case .rejected(let reason, let revision):
            message.header = server.watchHeader(revision: revision)
            message.watchID = -1
            message.created = true
            message.canceled = true
            message.cancelReason = reason
        case .cancelled(let id, let revision):
            message.header = server.watchHeader(revision: revision)
            message.watchID = id
            message.canceled = true
        case .progress(let revision):
            message.header = server.watchHeader(revision: revision)
            message.watchID = -1
        case .events(let watchID, let events, let revision, let compactRevision):
            let (wantsPrevious, fragments) = options.withLock { options in
                if !events.isEmpty, options.progress[watchID] != nil {
                    options.progress[watchID] = false
                }
                return (options.prevKV.contains(watchID), options.fragment.contains(watchID))
            }
            message.header = server.watchHeader(revision: revision)
            message.watchID = watchID
            message.compactRevision = compactRevision
            message.canceled = compactRevision != 0
            message.events = events.map { event in
                var converted = event
                if wantsPrevious && !event.isCreate,
                    let previous = server.keyValue(event.kv.key, at: event.kv.modRevision - 1)
                {
                    converted.prevKv = previous
                }
                return converted
            }
            if compactRevision != 0 {
                options.withLock { $0.forget(watchID) }
            }
            if fragments {
                // etcd's limit is the request limit plus its gRPC overhead allowance (512 KiB).
                return Self.fragment(message, limit: server.config.maxReceivedMessageBytes)
            }
        }
        return [message]
    }

    /// Splits a response whose encoding exceeds `limit` bytes into several, each flagged as a
    /// fragment but the last (etcd's sendFragments); a single event is never split.
    static func fragment(_ message: Etcdserverpb_WatchResponse, limit: Int) -> [Etcdserverpb_WatchResponse] {
        guard message.events.count >= 2, (try? message.serializedBytes() as [UInt8])?.count ?? 0 >= limit else {
            return [message]
        }
        var parts: [Etcdserverpb_WatchResponse] = []
        var current = message
        current.events = []
        current.fragment = true
        var size = (try? current.serializedBytes() as [UInt8])?.count ?? 0
        for event in message.events {
            // Exactly what the event adds to the encoded response: tag, length, bytes.
            let encoded = (try? event.serializedBytes() as [UInt8])?.count ?? 0
            let eventSize = 1 + Self.varintSize(encoded) + encoded
            if current.events.count >= 1 && size + eventSize >= limit {
                parts.append(current)
                current.events = []
                size = (try? current.serializedBytes() as [UInt8])?.count ?? 0
            }
            current.events.append(event)
            size += eventSize
        }
        current.fragment = false
        parts.append(current)
        return parts
    }

    private static func varintSize(_ value: Int) -> Int {
        var size = 1
        var rest = UInt64(value) >> 7
        while rest != 0 { size += 1; rest >>= 7 }
        return size
    }
}
