import Foundation

/// A duration the way etcd's logs print Go durations: "961.319µs", "12.5ms", "1.2s".
func formatDuration(_ duration: Duration) -> String {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    switch seconds {
    case ..<0.001: return String(format: "%.3fµs", seconds * 1_000_000)
    case ..<1: return String(format: "%.3fms", seconds * 1000)
    default: return String(format: "%.3fs", seconds)
    }
}
