import EtcdProto
import Foundation
import GRPCCore
import Synchronization

/// Options of ``Watch/watch(_:options:)``.
public struct WatchOptions: Sendable, Hashable {
    /// The first revision to report (0: changes after the watch is created). Revisions in the
    /// past are replayed from history, unless compacted.
    public var startRevision: Int64 = 0
    /// Include each key's previous value.
    public var prevKV = false
    /// Ask the server for periodic progress notifications (empty responses with the current
    /// revision) while nothing changes.
    public var progressNotify = false
    /// Leave out put events.
    public var noPut = false
    /// Leave out delete events.
    public var noDelete = false
    /// Deliver the server's "created" response as the first element.
    public var createdNotify = false
    /// Fail over (and resume) when the member the watch runs on loses its leader, instead of
    /// waiting for it silently.
    public var requireLeader = false

    public init(startRevision: Int64 = 0, prevKV: Bool = false, progressNotify: Bool = false, noPut: Bool = false,
                noDelete: Bool = false, createdNotify: Bool = false, requireLeader: Bool = false) {
        self.startRevision = startRevision
        self.prevKV = prevKV
        self.progressNotify = progressNotify
        self.noPut = noPut
        self.noDelete = noDelete
        self.createdNotify = createdNotify
        self.requireLeader = requireLeader
    }
}

/// One change of one key.
public struct WatchEvent: Sendable {
    public enum EventType: Sendable, Hashable, CustomStringConvertible {
        case put, delete
        /// `PUT` or `DELETE`, as etcd names them.
        public var description: String { self == .put ? "PUT" : "DELETE" }
    }

    public var raw: Mvccpb_Event
    public init(raw: Mvccpb_Event) { self.raw = raw }

    public var type: EventType { raw.type == .delete ? .delete : .put }
    /// The key after the change (for deletes: the key with the deletion's revision).
    public var kv: KeyValue { KeyValue(raw.kv) }
    /// The key before the change, if ``WatchOptions/prevKV`` was set and it existed.
    public var prevKV: KeyValue? { raw.hasPrevKv ? KeyValue(raw.prevKv) : nil }
}

/// One response of a watch: a batch of events (all of one or more whole revisions), or a
/// notification (created, progress, canceled).
public struct WatchResponse: Sendable {
    public var raw: Etcdserverpb_WatchResponse
    public init(raw: Etcdserverpb_WatchResponse) { self.raw = raw }

    public var header: ResponseHeader { raw.header.native }
    public var events: [WatchEvent] { raw.events.map(WatchEvent.init) }
    /// The server ended the watch (see ``cancelReason`` and ``compactRevision``).
    public var canceled: Bool { raw.canceled }
    public var created: Bool { raw.created }
    /// Set when the watch was canceled because its start revision was compacted: the oldest
    /// revision that can still be watched.
    public var compactRevision: Int64 { raw.compactRevision }
    public var cancelReason: String { raw.cancelReason }
    /// An empty response that only reports the current revision.
    public var isProgressNotify: Bool {
        raw.events.isEmpty && !raw.canceled && !raw.created && raw.compactRevision == 0 && raw.header.revision != 0
    }
}

/// The watch service.
///
/// ```swift
/// for try await response in client.watch.watch(.prefix("jobs/"), options: .init(prevKV: true)) {
///     for event in response.events {
///         print(event.type, event.kv.key, event.kv.value)
///     }
/// }
/// ```
///
/// The watch runs until the loop ends or its task is cancelled. When the connection fails it
/// resumes on the next endpoint from the revision after the last one delivered, so no event is
/// lost or repeated. If that revision has been compacted meanwhile, the stream delivers the
/// server's canceled response and then throws ``EtcdError/Kind/compacted`` (with
/// ``EtcdError/compactRevision``).
public struct Watch: Sendable {
    let pool: ConnectionPool

    /// Watches a key or range.
    public func watch(_ range: KeyRange, options: WatchOptions = WatchOptions()) -> WatchStream {
        WatchStream(pool: pool, range: range, options: options)
    }
}

/// An `AsyncSequence` of ``WatchResponse``s; see ``Watch``.
public struct WatchStream: AsyncSequence, Sendable {
    public typealias Element = WatchResponse
    public typealias AsyncIterator = AsyncThrowingStream<WatchResponse, any Error>.AsyncIterator

    private let stream: AsyncThrowingStream<WatchResponse, any Error>
    private let control: WatchControl

    init(pool: ConnectionPool, range: KeyRange, options: WatchOptions) {
        let (stream, continuation) = AsyncThrowingStream<WatchResponse, any Error>.makeStream()
        let control = WatchControl()
        let task = Task {
            await WatchLoop(pool: pool, range: range, options: options, control: control, output: continuation).run()
        }
        continuation.onTermination = { _ in task.cancel() }
        self.stream = stream
        self.control = control
    }

    public func makeAsyncIterator() -> AsyncIterator { stream.makeAsyncIterator() }

    /// Asks the server for a progress notification (a response with the current revision).
    public func requestProgress() {
        var request = Etcdserverpb_WatchRequest()
        request.progressRequest = Etcdserverpb_WatchProgressRequest()
        control.send(request)
    }
}

/// The channel to the running watch's request stream.
final class WatchControl: Sendable {
    private let outbound = Synchronization.Mutex<AsyncStream<Etcdserverpb_WatchRequest>.Continuation?>(nil)

    func attach(_ continuation: AsyncStream<Etcdserverpb_WatchRequest>.Continuation?) {
        outbound.withLock { $0 = continuation }
    }

    func send(_ request: Etcdserverpb_WatchRequest) {
        _ = outbound.withLock { $0?.yield(request) }
    }
}

/// Runs one watch over as many gRPC streams (and endpoints) as it takes.
private struct WatchLoop {
    let pool: ConnectionPool
    let range: KeyRange
    let options: WatchOptions
    let control: WatchControl
    let output: AsyncThrowingStream<WatchResponse, any Error>.Continuation

    /// How one stream ended.
    private enum End: Sendable {
        /// The server closed the stream or it broke: open another.
        case reconnect
        /// The watch is over (canceled by the server), with this error if any.
        case finished((any Error)?)
    }

    private final class Progress: Sendable {
        let state = Synchronization.Mutex((nextRevision: Int64(0), createdDelivered: false, gotResponse: false))
    }

    func run() async {
        let progress = Progress()
        progress.state.withLock { $0.nextRevision = options.startRevision }
        var failures = 0
        while !Task.isCancelled {
            guard let (index, connection) = pool.currentConnection(finishing: output) else { return }
            progress.state.withLock { $0.gotResponse = false }
            let end: End
            do {
                end = try await stream(on: connection, progress: progress)
            } catch {
                let mapped = EtcdError.from(error)
                if Task.isCancelled { break }
                if ConnectionPool.shouldReconnectStream(after: error, mapped, on: connection) {
                    end = .reconnect
                } else if [.invalidAuthToken, .authOldRevision, .userEmpty].contains(mapped.kind),
                          pool.configuration.credentials != nil, failures < 3
                {
                    try? await pool.refreshToken(seenGeneration: -1, connection: connection, deadline: nil)
                    end = .reconnect
                } else {
                    end = .finished(mapped)
                }
            }
            switch end {
            case .finished(let error):
                control.attach(nil)
                if let error { output.finish(throwing: error) } else { output.finish() }
                return
            case .reconnect:
                control.attach(nil)
                if progress.state.withLock({ $0.gotResponse }) { failures = 0 } else { failures += 1 }
                if !connection.everConnected || failures > 0 { pool.markFailed(index) }
                // Pause before coming back to the same endpoints, more the more often it fails.
                let pause = Duration.milliseconds(min(100 * (1 << min(failures, 4)), 1000))
                try? await Task.sleep(for: pause)
            }
        }
        control.attach(nil)
        output.finish(throwing: EtcdError(.canceled))
    }

    private func createRequest(startRevision: Int64) -> Etcdserverpb_WatchRequest {
        var create = Etcdserverpb_WatchCreateRequest()
        let (key, end) = range.bounds
        create.key = key.data
        create.rangeEnd = end.data
        create.startRevision = startRevision
        create.prevKv = options.prevKV
        create.progressNotify = options.progressNotify
        create.fragment = true
        if options.noPut { create.filters.append(.noput) }
        if options.noDelete { create.filters.append(.nodelete) }
        var request = Etcdserverpb_WatchRequest()
        request.createRequest = create
        return request
    }

    private func stream(on connection: Connection, progress: Progress) async throws -> End {
        let (outbound, outboundContinuation) = AsyncStream<Etcdserverpb_WatchRequest>.makeStream()
        control.attach(outboundContinuation)
        defer { outboundContinuation.finish() }
        let create = createRequest(startRevision: progress.state.withLock { $0.nextRevision })
        let request = StreamingClientRequest<Etcdserverpb_WatchRequest>(
            metadata: pool.metadata(requireLeader: options.requireLeader)
        ) { writer in
            try await writer.write(create)
            for await message in outbound { try await writer.write(message) }
        }
        var callOptions = CallOptions.defaults
        callOptions.maxResponseMessageBytes = pool.configuration.maxResponseBytes
        callOptions.waitForReady = false
        let output = self.output
        let options = self.options
        return try await connection.watch.watch(request: request, options: callOptions) { response in
            var pending: Etcdserverpb_WatchResponse?
            for try await message in response.messages {
                progress.state.withLock { $0.gotResponse = true }
                var message = message
                // A large batch can come in fragments: join them.
                if var partial = pending {
                    partial.events += message.events
                    partial.header = message.header
                    partial.fragment = message.fragment
                    message = partial
                }
                if message.fragment {
                    pending = message
                    continue
                }
                pending = nil

                if message.created {
                    let deliver = progress.state.withLock { state -> Bool in
                        if state.nextRevision == 0 { state.nextRevision = message.header.revision + 1 }
                        defer { state.createdDelivered = true }
                        return !state.createdDelivered && options.createdNotify
                    }
                    if deliver { output.yield(WatchResponse(raw: message)) }
                    if !message.canceled { continue }
                }
                if message.canceled {
                    output.yield(WatchResponse(raw: message))
                    if message.compactRevision != 0 {
                        var error = EtcdError(.compacted)
                        error.compactRevision = message.compactRevision
                        return .finished(error)
                    }
                    if message.cancelReason.isEmpty { return .finished(nil) }
                    let error = EtcdError(code: .canceled, message: message.cancelReason)
                    if ConnectionPool.isTransient(error) || error.kind == .noLeader { return .reconnect }
                    return .finished(error)
                }
                if message.compactRevision != 0 {
                    var error = EtcdError(.compacted)
                    error.compactRevision = message.compactRevision
                    output.yield(WatchResponse(raw: message))
                    return .finished(error)
                }
                progress.state.withLock { state in
                    if let last = message.events.last {
                        state.nextRevision = last.kv.modRevision + 1
                    } else if message.header.revision >= state.nextRevision {
                        // A progress notification: nothing up to this revision is left to see.
                        state.nextRevision = message.header.revision + 1
                    }
                }
                output.yield(WatchResponse(raw: message))
            }
            return .reconnect
        }
    }
}
