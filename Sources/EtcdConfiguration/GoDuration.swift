/// Durations written the way Go's `time.ParseDuration` reads them ("10m0s", "1.5s",
/// "100ms", "2h45m"), which is how etcd's duration flags are given.
enum GoDuration {
    static func parse(_ text: String, flag: String) throws -> Duration {
        let units: [(String, Double)] = [
            ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600),
        ]
        guard !text.isEmpty else { throw invalid(text, flag) }
        if text == "0" { return .zero }
        var seconds = 0.0
        var rest = Substring(text)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { throw invalid(text, flag) }
            rest = rest.dropFirst(number.count)
            // Longest unit first so "ms" is not read as "m".
            guard let unit = units.sorted(by: { $0.0.count > $1.0.count }).first(where: { rest.hasPrefix($0.0) }) else {
                throw invalid(text, flag)
            }
            rest = rest.dropFirst(unit.0.count)
            seconds += value * unit.1
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    private static func invalid(_ text: String, _ flag: String) -> ConfigError {
        ConfigError("invalid value \"\(text)\" for flag -\(flag): time: invalid duration \"\(text)\"")
    }
}
