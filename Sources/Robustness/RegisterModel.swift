import Foundation

/// etcd's behaviour on one key, as a sequential model: a register with compare-and-set, plus
/// the key's version, create and mod revisions, and the revision of its last write. Revisions
/// are global in etcd, so per key the model checks what holds in any linearization: every write
/// creates a revision above the key's last write, a read's header revision is at least it, and a
/// read returns the mod/create revisions and version the writes before it produced.
public struct RegisterModel: LinearizabilityModel {
    public struct State: Hashable, Sendable {
        /// Index into `values`; -1 = the key does not exist.
        var value: Int32 = -1
        var version: Int64 = 0
        /// -1 = unknown (written by an operation whose response was lost); 0 when absent.
        var modRevision: Int64 = 0
        var createRevision: Int64 = 0
        /// The revision of the key's last write (put or delete), or a lower bound of it.
        var lastWrite: Int64 = 0
    }

    enum Input: Sendable {
        case get
        case put(Int32)
        case delete
        case compareValue(Int32, put: Int32)
        case compareModRevision(Int64, put: Int32)
    }

    struct KV: Sendable {
        var value: Int32
        var modRevision: Int64
        var createRevision: Int64
        var version: Int64
    }

    enum Output: Sendable {
        case get(revision: Int64, kv: KV?)
        case put(revision: Int64)
        case delete(revision: Int64, deleted: Int64)
        case compareAndSet(revision: Int64, succeeded: Bool, kv: KV?)
    }

    let inputs: [Input]
    let outputs: [Output?]
    let values: [String]
    /// The revisions of this key's writes known for certain, ascending: those of writes with a
    /// known response and those of watch events of this key no such write explains.
    let writeRevisions: [Int64]
    /// Where the key's lost writes can have taken effect; nil: anywhere.
    let revisions: KeyRevisions?

    public var initialState: State { State() }

    /// The operations of one key, in the order the checker will refer to them.
    public init(operations: [HistoryOperation], revisions: KeyRevisions? = nil) {
        var index: [String: Int32] = [:]
        var values: [String] = []
        func id(_ value: String) -> Int32 {
            if let known = index[value] { return known }
            let new = Int32(values.count)
            values.append(value)
            index[value] = new
            return new
        }
        func kv(_ record: KeyValueRecord?) -> KV? {
            record.map {
                KV(value: id($0.value), modRevision: $0.modRevision, createRevision: $0.createRevision,
                   version: $0.version)
            }
        }
        var inputs: [Input] = []
        var outputs: [Output?] = []
        for operation in operations {
            switch operation.request {
            case .get: inputs.append(.get)
            case .put(let value): inputs.append(.put(id(value)))
            case .delete: inputs.append(.delete)
            case .compareAndSet(.value(let expected), let value):
                inputs.append(.compareValue(id(expected), put: id(value)))
            case .compareAndSet(.modRevision(let revision), let value):
                inputs.append(.compareModRevision(revision, put: id(value)))
            }
            switch operation.response {
            case nil: outputs.append(nil)
            case .get(let revision, let record): outputs.append(.get(revision: revision, kv: kv(record)))
            case .put(let revision): outputs.append(.put(revision: revision))
            case .delete(let revision, let deleted): outputs.append(.delete(revision: revision, deleted: deleted))
            case .compareAndSet(let revision, let succeeded, let record):
                outputs.append(.compareAndSet(revision: revision, succeeded: succeeded, kv: kv(record)))
            }
        }
        self.inputs = inputs
        self.outputs = outputs
        self.values = values
        self.revisions = revisions
        writeRevisions = (operations.compactMap { $0.response?.wrote == true ? $0.response!.revision : nil }
            + (revisions?.certain ?? [])).sorted()
    }

    /// A read at header `revision` in `state` sees the key as of its last write; any other
    /// write of the key at a revision up to `revision` would have to be before it, so it cannot
    /// be still to come. True if the read is possible as far as that goes.
    private func noWriteBetween(_ state: State, and revision: Int64) -> Bool {
        guard revision >= state.lastWrite else { return false }
        return nextWrite(after: state.lastWrite).map { $0 > revision } ?? true
    }

    /// The lowest known write revision of this key above `revision`.
    private func nextWrite(after revision: Int64) -> Int64? {
        var low = 0
        var high = writeRevisions.count
        while low < high {
            let mid = (low + high) / 2
            if writeRevisions[mid] > revision { high = mid } else { low = mid + 1 }
        }
        return low < writeRevisions.count ? writeRevisions[low] : nil
    }

    public func outputIsUnknown(_ operation: Int) -> Bool { outputs[operation] == nil }

    public func describe(_ state: State) -> String {
        guard state.value >= 0 else { return "absent (last write at rev ≥ \(state.lastWrite))" }
        let mod = state.modRevision >= 0 ? "\(state.modRevision)" : "? (≥ \(state.lastWrite))"
        let create = state.createRevision >= 0 ? "\(state.createRevision)" : "?"
        return "\(values[Int(state.value)]) mod \(mod) create \(create) version \(state.version)"
    }

    public func step(_ state: State, _ operation: Int) -> State? {
        let output = outputs[operation]
        switch inputs[operation] {
        case .get:
            guard case .get(let revision, let kv) = output else { return state }  // unknown read: no effect
            return read(state, revision: revision, kv: kv)
        case .put(let value):
            switch output {
            case nil:
                guard let revision = lostWriteRevision(state) else { return state }
                return written(state, value: value, revision: revision, exact: false)
            case .put(let revision)?:
                guard revision > state.lastWrite else { return nil }
                return written(state, value: value, revision: revision, exact: true)
            default: return nil
            }
        case .delete:
            switch output {
            case nil:
                guard state.value >= 0, let revision = lostWriteRevision(state) else { return state }
                return deleted(state, revision: revision)
            case .delete(let revision, let deletedCount)?:
                if state.value < 0 {
                    return deletedCount == 0 && noWriteBetween(state, and: revision) ? state : nil
                }
                guard deletedCount == 1, revision > state.lastWrite else { return nil }
                return deleted(state, revision: revision)
            default: return nil
            }
        case .compareValue(let expected, let value):
            let holds: Bool? = state.value >= 0 && state.value == expected
            return compareAndSet(state, holds: holds, compared: nil, value: value, output: output)
        case .compareModRevision(let expected, let value):
            let holds: Bool?
            if state.value < 0 {
                holds = expected == 0
            } else if state.modRevision >= 0 {
                holds = state.modRevision == expected
            } else {
                holds = expected >= state.lastWrite ? nil : false
            }
            return compareAndSet(state, holds: holds, compared: expected, value: value, output: output)
        }
    }

    /// `holds`: whether the compare holds in `state`, nil if that depends on an unknown mod
    /// revision. `compared`: the mod revision compared against, if that is the compare.
    private func compareAndSet(_ state: State, holds: Bool?, compared: Int64?, value: Int32,
                               output: Output?) -> State? {
        switch output {
        case nil:
            // Unknown outcome: if it may hold, it may have succeeded; if it failed instead, that
            // is the same as linearizing it at the very end, which the search also tries.
            guard holds != false, let revision = lostWriteRevision(state) else { return state }
            return written(state, value: value, revision: revision, exact: false)
        case .compareAndSet(let revision, let succeeded, let kv)?:
            if let holds, holds != succeeded { return nil }
            if succeeded {
                guard revision > state.lastWrite else { return nil }
                return written(state, value: value, revision: revision, exact: true)
            }
            if let compared, let kv, kv.modRevision == compared { return nil }
            return read(state, revision: revision, kv: kv)
        default:
            return nil
        }
    }

    /// A read at header `revision` returning `kv`; refines unknown revisions.
    private func read(_ state: State, revision: Int64, kv: KV?) -> State? {
        guard noWriteBetween(state, and: revision) else { return nil }
        guard state.value >= 0 else { return kv == nil ? state : nil }
        guard let kv, kv.value == state.value, kv.version == state.version,
              kv.modRevision <= revision, kv.createRevision <= kv.modRevision
        else { return nil }
        var next = state
        if state.modRevision >= 0 {
            guard kv.modRevision == state.modRevision else { return nil }
        } else {
            guard kv.modRevision >= state.lastWrite else { return nil }
            next.modRevision = kv.modRevision
            next.lastWrite = kv.modRevision
        }
        if state.createRevision >= 0 {
            guard kv.createRevision == state.createRevision else { return nil }
        } else {
            guard state.version > 1 || kv.createRevision == kv.modRevision else { return nil }
            next.createRevision = kv.createRevision
        }
        return next
    }

    /// The lowest revision a write whose response was lost can take effect at in `state`, or nil
    /// if it cannot take effect now (the key's next known write comes first). Taking effect later,
    /// or never, is the same as being linearized later, which the search tries too.
    private func lostWriteRevision(_ state: State) -> Int64? {
        guard let revisions else { return state.lastWrite + 1 }
        let candidate = revisions.first(after: state.lastWrite)
        if let known = nextWrite(after: state.lastWrite), known < candidate { return nil }
        return candidate
    }

    /// A put of `value` at `revision`; when not `exact`, a lower bound of its revision.
    private func written(_ state: State, value: Int32, revision: Int64, exact: Bool) -> State {
        var next = state
        let created = state.value < 0
        next.value = value
        next.version = created ? 1 : state.version + 1
        next.modRevision = exact ? revision : -1
        next.lastWrite = revision
        if created { next.createRevision = exact ? revision : -1 }
        return next
    }

    /// A delete at `revision` (or at least there).
    private func deleted(_ state: State, revision: Int64) -> State {
        State(value: -1, version: 0, modRevision: 0, createRevision: 0, lastWrite: revision)
    }
}
