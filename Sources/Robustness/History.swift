import Foundation

/// What a client asked for, on one key. Values are unique per run, so every value a read returns
/// names exactly one write.
public enum KVRequest: Codable, Hashable, Sendable {
    /// A linearizable Range of the single key.
    case get
    case put(value: String)
    case delete
    /// `Txn(if compare then Put(key, value) else Range(key))`: compare-and-set.
    case compareAndSet(compare: Comparison, value: String)

    public var kind: OperationKind {
        switch self {
        case .get: .get
        case .put: .put
        case .delete: .delete
        case .compareAndSet: .txn
        }
    }

    /// The value this request writes, if any.
    public var writtenValue: String? {
        switch self {
        case .put(let value), .compareAndSet(_, let value): value
        case .get, .delete: nil
        }
    }
}

/// The compare of a compare-and-set txn.
public enum Comparison: Codable, Hashable, Sendable {
    /// `value(key) == value`; always false on an absent key, as in etcd.
    case value(String)
    /// `mod_revision(key) == revision`; `0` means "the key does not exist".
    case modRevision(Int64)
}

public enum OperationKind: String, Codable, Hashable, Sendable, CaseIterable {
    case get, put, delete, txn
}

/// The parts of an `mvccpb.KeyValue` the checker uses.
public struct KeyValueRecord: Codable, Hashable, Sendable {
    public var value: String
    public var modRevision: Int64
    public var createRevision: Int64
    public var version: Int64

    public init(value: String, modRevision: Int64, createRevision: Int64, version: Int64) {
        self.value = value
        self.modRevision = modRevision
        self.createRevision = createRevision
        self.version = version
    }
}

/// What the server answered; `revision` is always the response header's revision.
public enum KVResponse: Codable, Hashable, Sendable {
    case get(revision: Int64, kv: KeyValueRecord?)
    case put(revision: Int64)
    case delete(revision: Int64, deleted: Int64)
    /// `kv` is the else branch's Range result (nil when the txn succeeded or the key is absent).
    case compareAndSet(revision: Int64, succeeded: Bool, kv: KeyValueRecord?)

    public var revision: Int64 {
        switch self {
        case .get(let revision, _), .put(let revision), .delete(let revision, _),
             .compareAndSet(let revision, _, _):
            revision
        }
    }

    /// True if the response reports a new revision created by this request.
    public var wrote: Bool {
        switch self {
        case .get: false
        case .put: true
        case .delete(_, let deleted): deleted > 0
        case .compareAndSet(_, let succeeded, _): succeeded
        }
    }
}

/// One client operation: its input, its output and when it was invoked and answered (monotonic
/// nanoseconds since the run started). An operation without a response (`response == nil`,
/// `returned == nil`) failed or timed out: it may or may not have taken effect, and is pending
/// forever for the checker.
public struct HistoryOperation: Codable, Hashable, Sendable {
    public var id: Int
    public var client: Int
    public var member: Int
    public var key: String
    public var request: KVRequest
    public var response: KVResponse?
    public var invoked: Int64
    public var returned: Int64?
    /// The error the client saw, for failed operations.
    public var error: String?
    /// The request failed before it was sent (no connection): it certainly had no effect.
    public var notSent: Bool

    public init(id: Int, client: Int, member: Int, key: String, request: KVRequest,
                response: KVResponse?, invoked: Int64, returned: Int64?, error: String? = nil,
                notSent: Bool = false) {
        self.id = id
        self.client = client
        self.member = member
        self.key = key
        self.request = request
        self.response = response
        self.invoked = invoked
        self.returned = returned
        self.error = error
        self.notSent = notSent
    }

    public var isPending: Bool { returned == nil }

    public var summary: String {
        let inv = Self.seconds(invoked)
        let ret = returned.map(Self.seconds) ?? "∞"
        let output = response.map { "\($0.shortDescription)" } ?? "unknown (\(error ?? "no response"))"
        return "#\(id) c\(client)@m\(member) [\(inv) … \(ret)] \(key) \(request.shortDescription) → \(output)"
    }

    static func seconds(_ nanos: Int64) -> String {
        String(format: "%.6fs", Double(nanos) / 1e9)
    }
}

extension KVRequest {
    public var shortDescription: String {
        switch self {
        case .get: "get"
        case .put(let value): "put(\(value))"
        case .delete: "delete"
        case .compareAndSet(.value(let expected), let value): "txn(value==\(expected) ? put(\(value)) : get)"
        case .compareAndSet(.modRevision(let revision), let value):
            "txn(mod==\(revision) ? put(\(value)) : get)"
        }
    }
}

extension KeyValueRecord {
    public var shortDescription: String {
        "\(value)@mod\(modRevision)/create\(createRevision)/v\(version)"
    }
}

extension KVResponse {
    public var shortDescription: String {
        switch self {
        case .get(let revision, let kv): "rev \(revision) \(kv?.shortDescription ?? "absent")"
        case .put(let revision): "rev \(revision)"
        case .delete(let revision, let deleted): "rev \(revision) deleted \(deleted)"
        case .compareAndSet(let revision, let succeeded, let kv):
            succeeded ? "rev \(revision) succeeded" : "rev \(revision) failed, \(kv?.shortDescription ?? "absent")"
        }
    }
}

/// One event a watcher received.
public struct WatchEventRecord: Codable, Hashable, Sendable {
    public enum EventType: String, Codable, Hashable, Sendable { case put, delete }
    public var type: EventType
    public var key: String
    /// Empty for deletes.
    public var value: String
    public var modRevision: Int64
    public var createRevision: Int64
    public var version: Int64
    /// When the watcher received it (monotonic nanoseconds since the run started).
    public var received: Int64

    public init(type: EventType, key: String, value: String, modRevision: Int64, createRevision: Int64,
                version: Int64, received: Int64) {
        self.type = type
        self.key = key
        self.value = value
        self.modRevision = modRevision
        self.createRevision = createRevision
        self.version = version
        self.received = received
    }

    /// Everything but the receive time: what every member's watchers must agree on.
    public var content: String {
        "\(type.rawValue) \(key)=\(value) mod \(modRevision) create \(createRevision) v\(version)"
    }
}

/// Everything one watcher saw across its reconnects.
public struct WatcherRecord: Codable, Hashable, Sendable {
    public var id: Int
    public var member: Int
    /// The revision its first watch started from.
    public var startRevision: Int64
    public var events: [WatchEventRecord]
    public var reconnects: Int
    /// Errors that ended a stream (the watcher then reconnected), and cancellations by the server.
    public var errors: [String]

    public init(id: Int, member: Int, startRevision: Int64, events: [WatchEventRecord] = [],
                reconnects: Int = 0, errors: [String] = []) {
        self.id = id
        self.member = member
        self.startRevision = startRevision
        self.events = events
        self.reconnects = reconnects
        self.errors = errors
    }

    public var lastRevision: Int64 { events.last?.modRevision ?? (startRevision - 1) }
}

/// A fault the injector carried out.
public struct FaultRecord: Codable, Hashable, Sendable {
    public var kind: FaultKind
    public var member: Int
    /// The member was the leader when the fault was injected (as far as Status told).
    public var wasLeader: Bool
    public var started: Int64
    public var ended: Int64
    /// Empty if it went as planned, else what failed (e.g. MoveLeader's error).
    public var failure: String
    /// For a kill or pause of the leader: milliseconds until another member reported a new
    /// leader (nil: none before the member came back).
    public var newLeaderAfter: Int64?
    /// For a hostile fault: the input sent (one record per input).
    public var probe: String?
    /// For a hostile fault: what came back (`ok …`, the error status, the HTTP status line, …).
    public var answer: String?
    /// For a hostile fault: the member refused the input (an error status, a closed
    /// connection, a message dropped) rather than serving it.
    public var refused: Bool?

    public init(kind: FaultKind, member: Int, wasLeader: Bool, started: Int64, ended: Int64, failure: String = "") {
        self.kind = kind
        self.member = member
        self.wasLeader = wasLeader
        self.started = started
        self.ended = ended
        self.failure = failure
    }
}

public enum FaultKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// SIGKILL, then a restart after a while on the same data dir.
    case kill
    /// SIGSTOP for longer than the election timeout, then SIGCONT.
    case pause
    /// Maintenance.MoveLeader from the leader to another member.
    case moveLeader = "move-leader"
    /// Inputs that used to kill members, and others like them, sent to a member's client port
    /// (writing only under `RobustnessRun.hostilePrefix`): each must get an answer or a closed
    /// connection, never a dead member.
    case hostileClient = "hostile-client"
    /// A stranger and a forger of member identities on a member's peer port: everything must be
    /// refused or dropped, and the member must live on.
    case hostilePeer = "hostile-peer"

    /// The faults that take members down or move the leader: the default mix.
    public static let disruptive: [FaultKind] = [.kill, .pause, .moveLeader]
    /// The faults that send hostile traffic.
    public static let hostile: [FaultKind] = [.hostileClient, .hostilePeer]

    public var isHostile: Bool { Self.hostile.contains(self) }
}

/// A whole recorded run: what `--history-out` writes and `swetcd-robustness check` reads.
public struct RecordedHistory: Codable, Sendable {
    public var operations: [HistoryOperation]
    public var watchers: [WatcherRecord]
    public var faults: [FaultRecord]
    /// The revision every member had after healing (0 if unknown).
    public var finalRevision: Int64

    public init(operations: [HistoryOperation], watchers: [WatcherRecord], faults: [FaultRecord],
                finalRevision: Int64) {
        self.operations = operations
        self.watchers = watchers
        self.faults = faults
        self.finalRevision = finalRevision
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(self).write(to: url)
    }

    public static func read(from url: URL) throws -> RecordedHistory {
        try JSONDecoder().decode(RecordedHistory.self, from: Data(contentsOf: url))
    }
}
