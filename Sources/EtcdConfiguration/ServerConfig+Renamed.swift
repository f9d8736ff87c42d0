/// etcd 3.6's names for flags that 3.5 called `--experimental-*`: both are taken, the old
/// one with 3.6's deprecation warning, and setting both is refused with 3.6's error.
extension ServerConfig {
    /// Old name → 3.6's name, for the flags swetcd has.
    static let renamedFlags: [(old: String, new: String)] = [
        ("experimental-snapshot-catchup-entries", "snapshot-catchup-entries"),
        ("experimental-watch-progress-notify-interval", "watch-progress-notify-interval"),
        ("experimental-peer-skip-client-san-verification", "peer-skip-client-san-verification"),
    ]

    static let renamedFlagDefinitions: [FlagParser.Flag] = [
        .init(
            "snapshot-catchup-entries", default: "5000",
            usage: "Number of entries for a slow follower to catch up after compacting the raft storage entries."),
        .init("watch-progress-notify-interval", default: "10m0s", usage: "Duration of periodic watch progress notifications."),
        .init(
            "experimental-peer-skip-client-san-verification", default: "false", isBoolean: true,
            usage: "DEPRECATED. Use --peer-skip-client-san-verification instead."),
    ]

    /// The value of `new`, or of its old name when only that was given (recording 3.6's
    /// warning); both given is an error.
    mutating func renamedValue(_ values: FlagParser.Values, new: String) throws -> String {
        guard let old = Self.renamedFlags.first(where: { $0.new == new })?.old, values.isSet(old) else {
            return values.string(new)
        }
        if values.isSet(new) {
            throw ConfigError("cannot set --\(old) and --\(new) at the same time, please use --\(new) only")
        }
        deprecationWarnings.append("--\(old) is deprecated in v3.6 and will be decommissioned in v3.7. Use '--\(new)' instead.")
        return values.string(old)
    }
}
