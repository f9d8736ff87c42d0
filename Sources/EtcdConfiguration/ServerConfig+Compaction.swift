/// etcd's auto-compaction flags: how much history the leader keeps, by time or by count.
extension ServerConfig {
    /// What `--auto-compaction-mode` and `--auto-compaction-retention` ask for.
    public enum AutoCompaction: Sendable, Equatable {
        /// Keep this much time of history (`periodic`).
        case periodic(Duration)
        /// Keep this many revisions (`revision`).
        case revision(Int64)
    }

    static let compactionFlags: [FlagParser.Flag] = [
        .init(
            "auto-compaction-mode", default: "periodic",
            usage: "interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention."),
        .init(
            "auto-compaction-retention", default: "0",
            usage: "Auto compaction retention for mvcc key value store. 0 means disable auto compaction."),
    ]

    /// Reads the auto-compaction flags as etcd's `parseCompactionRetention` does: a bare
    /// number is hours (periodic) or revisions (revision), anything else a Go duration.
    mutating func parseCompaction(_ values: FlagParser.Values) throws {
        let mode = values.string("auto-compaction-mode")
        guard mode == "periodic" || mode == "revision" else {
            throw ConfigError(mode.isEmpty ? "undefined auto-compaction-mode" : "unknown auto-compaction-mode \"\(mode)\"")
        }
        let text = values.string("auto-compaction-retention")
        if let number = Int64(text.isEmpty ? "0" : text), number >= 0 {
            guard number > 0 else { return autoCompaction = nil }
            autoCompaction = mode == "revision" ? .revision(number) : .periodic(.seconds(number) * 3600)
            return
        }
        let duration: Duration
        do {
            duration = try GoDuration.parse(text, flag: "auto-compaction-retention")
        } catch {
            throw ConfigError("error parsing CompactionRetention: time: invalid duration \"\(text)\"")
        }
        guard duration > .zero else { return autoCompaction = nil }
        // etcd reads a duration as nanoseconds in revision mode.
        autoCompaction = mode == "revision" ? .revision(Int64(duration / .nanoseconds(1))) : .periodic(duration)
    }
}
