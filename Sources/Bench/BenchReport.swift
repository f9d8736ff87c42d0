import Foundation

/// The outcome of one benchmark run: what was run, how many requests, how fast, how long
/// they took. Printed for people by ``humanReadable()`` or as one JSON object by ``json()``.
public struct BenchReport: Codable, Sendable, Equatable {
    /// Subcommand name (`put`, `range`, …).
    public var benchmark: String
    /// The settings that shaped the run (clients, conns, endpoints, sizes, …), as text.
    public var parameters: [String: String]
    /// Requests finished (successfully or not).
    public var requests: Int
    /// Requests that failed.
    public var errors: Int
    /// Failure messages and how often each occurred.
    public var errorMessages: [String: Int]
    /// Wall time from the first request's start to the last one's end.
    public var durationSeconds: Double
    /// `requests / durationSeconds`.
    public var requestsPerSecond: Double
    /// Latency of the measured operation.
    public var latency: LatencySummary
    /// Further latencies the workload measures (e.g. `read`/`write` of txn-mixed).
    public var additionalLatencies: [String: LatencySummary]
    /// Further numbers the workload reports (e.g. events received).
    public var counters: [String: Double]

    enum CodingKeys: String, CodingKey {
        case benchmark, parameters, requests, errors
        case errorMessages = "error_messages"
        case durationSeconds = "duration_s"
        case requestsPerSecond = "requests_per_second"
        case latency = "latency_ms"
        case additionalLatencies = "additional_latencies_ms"
        case counters
    }

    /// Assembles a report; `requestsPerSecond` is derived.
    public init(
        benchmark: String, parameters: [String: String], requests: Int, errors: Int, errorMessages: [String: Int] = [:],
        durationSeconds: Double, latency: LatencySummary, additionalLatencies: [String: LatencySummary] = [:],
        counters: [String: Double] = [:]
    ) {
        self.benchmark = benchmark
        self.parameters = parameters
        self.requests = requests
        self.errors = errors
        self.errorMessages = errorMessages
        self.durationSeconds = durationSeconds
        self.requestsPerSecond = durationSeconds > 0 ? Double(requests) / durationSeconds : 0
        self.latency = latency
        self.additionalLatencies = additionalLatencies
        self.counters = counters
    }

    /// One JSON object, keys sorted, on one line.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is plain data, so encoding cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// A few lines for people: totals, throughput, percentiles and a bar chart per latency.
    public func humanReadable() -> String {
        var lines: [String] = []
        let settings = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.append("\(benchmark): \(settings)")
        lines.append("  requests     \(requests) (\(errors) errors)")
        lines.append("  total        \(format(durationSeconds, 4)) s")
        lines.append("  requests/s   \(format(requestsPerSecond, 1))")
        for (name, value) in counters.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name.padding(toLength: max(12, name.count), withPad: " ", startingAt: 0)) \(format(value, value.rounded() == value ? 0 : 3))")
        }
        lines.append(contentsOf: Self.describe("latency", latency))
        for (name, summary) in additionalLatencies.sorted(by: { $0.key < $1.key }) {
            lines.append(contentsOf: Self.describe("latency of \(name)", summary))
        }
        if !errorMessages.isEmpty {
            lines.append("  errors:")
            for (message, count) in errorMessages.sorted(by: { $0.value > $1.value }) {
                lines.append("    \(count)× \(message)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ title: String, _ summary: LatencySummary) -> [String] {
        var lines = [
            "  \(title) (ms, \(summary.count) samples): avg \(format(summary.avg, 4))  p50 \(format(summary.p50, 4))"
                + "  p90 \(format(summary.p90, 4))  p99 \(format(summary.p99, 4))  p99.9 \(format(summary.p999, 4))"
                + "  max \(format(summary.max, 4))"
        ]
        let widest = summary.buckets.map(\.count).max() ?? 0
        for bucket in summary.buckets {
            let bar = widest == 0 ? 0 : Int((Double(bucket.count) / Double(widest) * 40).rounded(.up))
            lines.append(
                "    ≤ \(format(bucket.upperMs, 4).leftPadded(to: 11)) ms  \(String(bucket.count).leftPadded(to: 9))  "
                    + String(repeating: "∎", count: bar))
        }
        return lines
    }
}

/// `value` with exactly `digits` decimals.
func format(_ value: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", value)
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
