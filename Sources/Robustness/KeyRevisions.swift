import Foundation

/// What the whole history tells about the revisions of one key's writes whose responses were
/// lost. Revisions are global and each write makes exactly one, so a lost write can only have
/// taken a revision that no known write (of any key) and no watch event of another key holds.
public struct KeyRevisions: Sendable, Hashable {
    /// Revisions at or below `openAbove` that a lost write of this key may have, ascending.
    public var candidates: [Int64]
    /// Every revision above this one is a candidate (no answer or event shows what took it).
    public var openAbove: Int64
    /// Candidates certainly taken by a write of this key: watch events of this key that no write
    /// with a known response explains. Ascending.
    public var certain: [Int64]

    public init(candidates: [Int64], openAbove: Int64, certain: [Int64] = []) {
        self.candidates = candidates
        self.openAbove = openAbove
        self.certain = certain
    }

    /// The lowest candidate above `revision`.
    func first(after revision: Int64) -> Int64 {
        let index = firstIndex(candidates) { $0 > revision }
        return index < candidates.count ? candidates[index] : max(revision, openAbove) + 1
    }

    /// Per key: from the operations (after settling with the watch log) and the log itself.
    public static func of(_ operations: [HistoryOperation], writeLog: [Int64: WatchEventRecord],
                          finalRevision: Int64) -> [String: KeyRevisions] {
        var known = Set<Int64>()
        var keys = Set<String>()
        var top = finalRevision
        for operation in operations {
            keys.insert(operation.key)
            guard let response = operation.response else { continue }
            top = max(top, response.revision)
            if response.wrote { known.insert(response.revision) }
        }
        top = max(top, writeLog.keys.max() ?? 0)
        var result: [String: KeyRevisions] = [:]
        for key in keys { result[key] = KeyRevisions(candidates: [], openAbove: top) }
        guard top >= 2 else { return result }
        var unclaimed: [Int64] = []
        for revision in 2...top where !known.contains(revision) {
            if let event = writeLog[revision] {
                result[event.key]?.candidates.append(revision)
                result[event.key]?.certain.append(revision)
            } else {
                unclaimed.append(revision)
            }
        }
        for key in keys {
            result[key]!.candidates = (result[key]!.candidates + unclaimed).sorted()
        }
        return result
    }
}

/// The first index whose element satisfies `predicate`, which must be false then true along
/// the array.
func firstIndex(_ array: [Int64], where predicate: (Int64) -> Bool) -> Int {
    var low = 0
    var high = array.count
    while low < high {
        let mid = (low + high) / 2
        if predicate(array[mid]) { high = mid } else { low = mid + 1 }
    }
    return low
}
