/// One change to one key, as watchers see it.
public struct Event: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case put
        case delete
    }

    public var kind: Kind
    /// For a put, the key-value written; for a delete, only the key and the deletion's
    /// revision (`modRevision`).
    public var kv: KeyValue

    public init(kind: Kind, kv: KeyValue) {
        self.kind = kind
        self.kv = kv
    }

    /// A put that created its key (etcd skips the previous-value lookup for these).
    public var isCreate: Bool { kind == .put && kv.createRevision == kv.modRevision }
}

/// What a watch stream delivers: events of one watcher (or a progress notification), or the
/// news that the watcher's start revision was compacted away.
public struct WatchResponse: Sendable {
    public var watchID: Int64
    public var events: [Event]
    /// The store revision the response is as of.
    public var revision: Int64
    /// Non-zero when the watcher was cancelled because its revisions are compacted.
    public var compactRevision: Int64

    public init(watchID: Int64, events: [Event] = [], revision: Int64 = 0, compactRevision: Int64 = 0) {
        self.watchID = watchID
        self.events = events
        self.revision = revision
        self.compactRevision = compactRevision
    }
}

/// Events a watcher may ask not to receive.
public struct WatchFilters: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let noPut = WatchFilters(rawValue: 1)
    public static let noDelete = WatchFilters(rawValue: 2)

    func admits(_ event: Event) -> Bool {
        switch event.kind {
        case .put: return !contains(.noPut)
        case .delete: return !contains(.noDelete)
        }
    }
}

/// Why a watch could not be created; descriptions are etcd's, sent as the cancel reason.
public enum WatchError: Error, Equatable, CustomStringConvertible {
    case emptyRange
    case duplicateID
    case notFound
    case closed

    public var description: String {
        switch self {
        case .emptyRange: return "mvcc: watcher range is empty"
        case .duplicateID: return "mvcc: duplicate watch ID provided on the WatchStream"
        case .notFound: return "mvcc: watcher does not exist"
        case .closed: return "mvcc: closed"
        }
    }
}
