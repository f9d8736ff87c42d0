/// Failures the benchmark reports and exits on.
public enum BenchError: Error, CustomStringConvertible {
    /// Anything that stops a run, with the reason.
    case failed(String)

    public var description: String {
        switch self {
        case .failed(let message): message
        }
    }
}
