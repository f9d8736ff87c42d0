import Foundation
import HarnessSupport

/// A sequential specification the checker searches a linearization against. Operations are
/// referred to by their index in the history given to `Linearizability.check`.
public protocol LinearizabilityModel: Sendable {
    associatedtype State: Hashable & Sendable
    var initialState: State { get }
    /// The state after `operation` takes effect in `state` with its recorded output, or nil if
    /// that output is impossible there. Operations whose output is unknown must always be
    /// accepted (they may also take effect at the very end, where nothing observes them).
    func step(_ state: State, _ operation: Int) -> State?
    /// True if the operation's output is unknown: `step` then accepts it in every state.
    func outputIsUnknown(_ operation: Int) -> Bool
    func describe(_ state: State) -> String
}

extension LinearizabilityModel {
    public func outputIsUnknown(_ operation: Int) -> Bool { false }
}

/// Why a history is not linearizable: the furthest the search got and where it was stuck.
public struct Counterexample: Sendable, Hashable {
    /// How many operations the longest partial linearization found holds, of how many.
    public var linearized: Int
    public var total: Int
    /// Its last operations, in linearization order.
    public var lastLinearized: [Int]
    /// The model state after it.
    public var state: String
    /// The operation that had to be linearized before it returned, and could not be.
    public var blocking: Int
    /// The operations invoked before `blocking` returned and not yet linearized: the ones the
    /// search tried next, in invocation order (including `blocking`).
    public var candidates: [Int]
}

public enum LinearizabilityResult: Sendable, Hashable {
    case linearizable
    case notLinearizable(Counterexample)
    /// The search ran out of its time budget; the furthest it got.
    case unknown(Counterexample)

    public var isViolation: Bool {
        if case .notLinearizable = self { return true }
        return false
    }

    public var isInconclusive: Bool {
        if case .unknown = self { return true }
        return false
    }
}

/// Wing & Gong's search for a linearization, as porcupine does it: the history as one list of
/// call and return entries in time order; the search linearizes a call whose operation the model
/// accepts by lifting its call and return out of the list, and backtracks when it meets a return
/// entry (that operation should have been linearized before it returned). Visited (set of
/// linearized operations, state) pairs are memoised, so each is explored once. The set is kept
/// as a 128-bit Zobrist hash: a collision (odds ~n²/2¹²⁸) could only prune a branch.
///
/// An operation pending forever whose output is unknown can always go last, where nothing
/// observes it. So the search tries such operations only after the others at each step (they
/// are needed only to explain what a later operation saw), never linearizes one where it would
/// not change the state (going last is the same), and succeeds as soon as only they are left.
public enum Linearizability {
    /// - Parameters:
    ///   - invoked: invocation time per operation.
    ///   - returned: response time per operation; nil = unknown (pending forever).
    public static func check<M: LinearizabilityModel>(
        model: M, invoked: [Int64], returned: [Int64?], deadline: ContinuousClock.Instant
    ) -> LinearizabilityResult {
        precondition(invoked.count == returned.count)
        let count = invoked.count
        if count == 0 { return .linearizable }
        let list = EntryList(invoked: invoked, returned: returned)
        let deferrable = (0..<count).map { returned[$0] == nil && model.outputIsUnknown($0) }
        var search = Search(model: model, list: list, count: count, deferrable: deferrable)
        return search.run(deadline: deadline)
    }
}

/// The call/return entries as a doubly linked list over arrays; `head` is a sentinel.
private struct EntryList {
    var next: [Int]
    var prev: [Int]
    /// The operation of each entry.
    let operation: [Int]
    let isCall: [Bool]
    /// For a call entry, its return entry.
    let match: [Int]
    let head: Int

    init(invoked: [Int64], returned: [Int64?]) {
        let count = invoked.count
        var entries: [(time: Int64, isReturn: Bool, operation: Int)] = []
        entries.reserveCapacity(2 * count)
        for op in 0..<count {
            entries.append((invoked[op], false, op))
            entries.append((returned[op] ?? .max, true, op))
        }
        // Time order; at equal times calls first (treating the operations as overlapping, the
        // permissive reading). A return never precedes its own call.
        entries.sort { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.isReturn != b.isReturn { return !a.isReturn }
            return a.operation < b.operation
        }
        let head = 2 * count
        var next = [Int](repeating: -1, count: head + 1)
        var prev = [Int](repeating: -1, count: head + 1)
        var operation = [Int](repeating: 0, count: head)
        var isCall = [Bool](repeating: false, count: head)
        var match = [Int](repeating: -1, count: head)
        var callEntry = [Int](repeating: -1, count: count)
        var previous = head
        for (index, entry) in entries.enumerated() {
            operation[index] = entry.operation
            isCall[index] = !entry.isReturn
            if entry.isReturn {
                match[callEntry[entry.operation]] = index
            } else {
                callEntry[entry.operation] = index
            }
            next[previous] = index
            prev[index] = previous
            previous = index
        }
        self.next = next
        self.prev = prev
        self.operation = operation
        self.isCall = isCall
        self.match = match
        self.head = head
    }

    /// Takes a call entry and its return entry out of the list.
    mutating func lift(_ entry: Int) {
        next[prev[entry]] = next[entry]
        if next[entry] >= 0 { prev[next[entry]] = prev[entry] }
        let ret = match[entry]
        next[prev[ret]] = next[ret]
        if next[ret] >= 0 { prev[next[ret]] = prev[ret] }
    }

    /// Undoes `lift(entry)` (lifts must be undone in reverse order).
    mutating func unlift(_ entry: Int) {
        let ret = match[entry]
        next[prev[ret]] = ret
        if next[ret] >= 0 { prev[next[ret]] = ret }
        next[prev[entry]] = entry
        if next[entry] >= 0 { prev[next[entry]] = entry }
    }
}

private struct Search<M: LinearizabilityModel> {
    struct Visited: Hashable {
        var low: UInt64
        var high: UInt64
        var state: M.State
    }

    struct Frame {
        var entry: Int
        var state: M.State
        var deferrablePass: Bool
    }

    let model: M
    var list: EntryList
    let count: Int
    /// Pending forever with an unknown output: may always be linearized last.
    let deferrable: [Bool]
    let mandatory: Int
    let zobristLow: [UInt64]
    let zobristHigh: [UInt64]

    // The longest partial linearization seen, for the counterexample.
    var bestDepth = -1
    var bestTail: [Int] = []
    var bestState: M.State
    var bestBlocking = -1
    var bestCandidates: [Int] = []

    init(model: M, list: EntryList, count: Int, deferrable: [Bool]) {
        self.model = model
        self.list = list
        self.count = count
        self.deferrable = deferrable
        mandatory = deferrable.filter { !$0 }.count
        var random = SplitMix64(seed: 0x5EED_1234_ABCD_0001 ^ UInt64(count))
        zobristLow = (0..<count).map { _ in random.next() }
        zobristHigh = (0..<count).map { _ in random.next() }
        bestState = model.initialState
    }

    mutating func run(deadline: ContinuousClock.Instant) -> LinearizabilityResult {
        var visited = Set<Visited>()
        var stack: [Frame] = []
        stack.reserveCapacity(count)
        var state = model.initialState
        var low: UInt64 = 0
        var high: UInt64 = 0
        var entry = list.next[list.head]
        // The candidates (calls before the first return entry) are tried in two passes: first the
        // operations that must be linearized, then the deferrable ones, which are only needed to
        // explain what a later operation saw.
        var deferrablePass = false
        var steps = 0
        var linearizedMandatory = 0
        noteDepth(stack, state)
        while linearizedMandatory < mandatory {
            steps &+= 1
            if steps & 0x3FFF == 0, ContinuousClock.now > deadline { return .unknown(counterexample()) }
            if list.isCall[entry] {
                let op = list.operation[entry]
                if deferrable[op] == deferrablePass, let after = model.step(state, op),
                   !(deferrablePass && after == state) {
                    let key = Visited(low: low ^ zobristLow[op], high: high ^ zobristHigh[op], state: after)
                    if visited.insert(key).inserted {
                        stack.append(Frame(entry: entry, state: state, deferrablePass: deferrablePass))
                        state = after
                        low = key.low
                        high = key.high
                        list.lift(entry)
                        if !deferrable[op] { linearizedMandatory += 1 }
                        entry = list.next[list.head]
                        deferrablePass = false
                        if stack.count > bestDepth { noteDepth(stack, state) }
                        continue
                    }
                }
                entry = list.next[entry]
            } else if !deferrablePass {
                deferrablePass = true
                entry = list.next[list.head]
            } else {
                // A return entry: its operation must already be linearized. Backtrack.
                if stack.count == bestDepth, bestBlocking < 0 { noteBlocking(at: entry) }
                guard let frame = stack.popLast() else {
                    return .notLinearizable(counterexample())
                }
                let op = list.operation[frame.entry]
                if !deferrable[op] { linearizedMandatory -= 1 }
                state = frame.state
                low ^= zobristLow[op]
                high ^= zobristHigh[op]
                list.unlift(frame.entry)
                entry = list.next[frame.entry]
                deferrablePass = frame.deferrablePass
            }
        }
        return .linearizable
    }

    private mutating func noteDepth(_ stack: [Frame], _ state: M.State) {
        bestDepth = stack.count
        bestTail = stack.suffix(10).map { list.operation[$0.entry] }
        bestState = state
        bestBlocking = -1
        bestCandidates = []
    }

    private mutating func noteBlocking(at returnEntry: Int) {
        bestBlocking = list.operation[returnEntry]
        var candidates: [Int] = []
        var entry = list.next[list.head]
        while entry >= 0, entry != returnEntry, candidates.count < 20 {
            if list.isCall[entry] { candidates.append(list.operation[entry]) }
            entry = list.next[entry]
        }
        bestCandidates = candidates
    }

    private func counterexample() -> Counterexample {
        Counterexample(
            linearized: bestDepth, total: count, lastLinearized: bestTail,
            state: model.describe(bestState), blocking: bestBlocking, candidates: bestCandidates)
    }
}
