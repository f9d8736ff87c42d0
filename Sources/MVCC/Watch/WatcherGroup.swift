/// A set of watchers that can be looked up by the key an event touches: single-key
/// watchers through a dictionary, range watchers by a scan of the ranges.
struct WatcherGroup {
    private(set) var watchers: [ObjectIdentifier: Watcher] = [:]
    private var byKey: [[UInt8]: [ObjectIdentifier: Watcher]] = [:]
    private var ranged: [ObjectIdentifier: Watcher] = [:]

    var count: Int { watchers.count }
    var isEmpty: Bool { watchers.isEmpty }

    func contains(_ watcher: Watcher) -> Bool { watchers[ObjectIdentifier(watcher)] != nil }

    mutating func add(_ watcher: Watcher) {
        let id = ObjectIdentifier(watcher)
        watchers[id] = watcher
        if case .single(let key) = watcher.range {
            byKey[key, default: [:]][id] = watcher
        } else {
            ranged[id] = watcher
        }
    }

    /// Removes the watcher; false when it was not in the group.
    @discardableResult
    mutating func remove(_ watcher: Watcher) -> Bool {
        let id = ObjectIdentifier(watcher)
        guard watchers.removeValue(forKey: id) != nil else { return false }
        if case .single(let key) = watcher.range {
            byKey[key]?.removeValue(forKey: id)
            if byKey[key]?.isEmpty == true { byKey.removeValue(forKey: key) }
        } else {
            ranged.removeValue(forKey: id)
        }
        return true
    }

    /// Every watcher interested in `key`.
    func watchers(for key: [UInt8]) -> [Watcher] {
        var result: [Watcher] = []
        if let exact = byKey[key] { result.append(contentsOf: exact.values) }
        for watcher in ranged.values where watcher.range.contains(key) {
            result.append(watcher)
        }
        return result
    }

    /// Splits `events` by watcher, keeping for each only the events at or after its
    /// next needed revision.
    func batches(for events: [Event]) -> [ObjectIdentifier: (Watcher, EventBatch)] {
        var result: [ObjectIdentifier: (Watcher, EventBatch)] = [:]
        guard !watchers.isEmpty else { return result }
        for event in events {
            for watcher in watchers(for: [UInt8](event.kv.key)) where event.kv.modRevision >= watcher.minRevision {
                let id = ObjectIdentifier(watcher)
                var entry = result[id] ?? (watcher, EventBatch())
                entry.1.add(event)
                result[id] = entry
            }
        }
        return result
    }
}
