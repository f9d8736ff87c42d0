import Foundation
import Histogram

/// Latency statistics of one set of samples, in milliseconds, from an HdrHistogram
/// (3 significant digits; `min` and `max` exact).
public struct LatencySummary: Codable, Sendable, Equatable {
    /// Number of samples.
    public var count: Int
    /// Mean.
    public var avg: Double
    /// Smallest sample.
    public var min: Double
    /// Median.
    public var p50: Double
    /// 90th percentile.
    public var p90: Double
    /// 99th percentile.
    public var p99: Double
    /// 99.9th percentile.
    public var p999: Double
    /// Largest sample.
    public var max: Double
    /// Sample counts per latency bucket, doubling in width (for the human-readable chart).
    public var buckets: [Bucket]

    /// Samples with latency in `(lowerMs, upperMs]`.
    public struct Bucket: Codable, Sendable, Equatable {
        /// Exclusive lower bound, milliseconds.
        public var lowerMs: Double
        /// Inclusive upper bound, milliseconds.
        public var upperMs: Double
        /// Samples in the bucket.
        public var count: Int

        enum CodingKeys: String, CodingKey {
            case lowerMs = "lower_ms"
            case upperMs = "upper_ms"
            case count
        }
    }

    /// Creates a summary from explicit values (tests, merging).
    public init(
        count: Int, avg: Double, min: Double, p50: Double, p90: Double, p99: Double, p999: Double, max: Double,
        buckets: [Bucket] = []
    ) {
        (self.count, self.avg, self.min, self.p50, self.p90, self.p99, self.p999, self.max) =
            (count, avg, min, p50, p90, p99, p999, max)
        self.buckets = buckets
    }

    /// Summarises `histogram` (values in nanoseconds).
    public init(histogram: Histogram<UInt64>) {
        let ms = { (nanos: UInt64) in Double(nanos) / 1_000_000 }
        guard histogram.totalCount > 0 else {
            self.init(count: 0, avg: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0)
            return
        }
        self.init(
            count: Int(histogram.totalCount), avg: histogram.mean / 1_000_000,
            min: ms(histogram.min), p50: ms(histogram.valueAtPercentile(50)),
            p90: ms(histogram.valueAtPercentile(90)), p99: ms(histogram.valueAtPercentile(99)),
            p999: ms(histogram.valueAtPercentile(99.9)), max: ms(histogram.maxRecorded),
            buckets: Self.doublingBuckets(histogram))
    }

    /// Summarises latencies given in nanoseconds.
    public init(nanoseconds samples: some Sequence<UInt64>) {
        self.init(histogram: makeHistogram(samples))
    }

    /// Buckets `(2^(k-1), 2^k]` microseconds from the one holding the smallest sample to
    /// the one holding the largest.
    static func doublingBuckets(_ histogram: Histogram<UInt64>) -> [Bucket] {
        var upper: UInt64 = 1000  // 1 µs in ns
        let smallest = Swift.max(histogram.min, 1)
        while upper < smallest { upper *= 2 }
        var lower = upper / 2
        if lower < 1000 { lower = 0 }
        var buckets: [Bucket] = []
        let largest = histogram.maxRecorded
        while true {
            let count = histogram.count(within: (lower + 1)...upper)
            buckets.append(Bucket(lowerMs: Double(lower) / 1_000_000, upperMs: Double(upper) / 1_000_000, count: Int(count)))
            if upper >= largest { break }
            lower = upper
            upper *= 2
        }
        // Leading and trailing empty buckets say nothing.
        while buckets.first?.count == 0 { buckets.removeFirst() }
        while buckets.last?.count == 0 { buckets.removeLast() }
        return buckets
    }
}

/// An HdrHistogram of nanosecond values from 1 ns to an hour, 3 significant digits.
public func makeHistogram(_ samples: some Sequence<UInt64>) -> Histogram<UInt64> {
    var histogram = makeHistogram()
    for sample in samples { _ = histogram.record(Swift.max(sample, 1)) }
    return histogram
}

/// An empty histogram of nanosecond values from 1 ns to an hour, 3 significant digits.
public func makeHistogram() -> Histogram<UInt64> {
    var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    histogram.autoResize = true
    return histogram
}
