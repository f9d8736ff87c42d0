extension WAL {
    /// The segment files of the log, oldest first.
    public func segmentFiles() throws -> [String] {
        try SegmentName.list(in: directory).map { directory + "/" + $0.fileName }
    }

    /// Deletes the segments that opening from a snapshot at `index` (or any later one) never
    /// reads, and returns their paths.
    ///
    /// Call this only after the snapshot at `index` is durable and its marker was saved with
    /// `saveSnapshot(_:)`: afterwards the log can no longer be opened from an older snapshot.
    /// The segment being appended to is never removed. Segments go oldest first, so a crash
    /// in the middle leaves a log that still opens.
    @discardableResult
    public func removeSegments(coveredBy index: UInt64) throws -> [String] {
        if case .closed = status { throw WALError.closed }
        let names = try SegmentName.list(in: directory)
        // The segment `open(snapshot:)` starts from; every one before it is unneeded.
        guard let start = names.lastIndex(where: { $0.firstIndex <= index && $0.sequence <= tail.sequence }) else {
            return []
        }
        var removed: [String] = []
        for name in names[..<start] {
            let path = directory + "/" + name.fileName
            try FileIO.remove(path)
            removed.append(path)
        }
        if !removed.isEmpty { try FileIO.syncDirectory(directory) }
        return removed
    }
}
