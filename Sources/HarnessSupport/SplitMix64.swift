import Raft

/// A small, fast, seedable random number generator (SplitMix64) for reproducible tests,
/// robustness runs and fuzz mutations: Raft's ``SeededRandom``, with its state in the open so
/// that a run can derive independent streams from it.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state: equal states give equal sequences.
    public var state: UInt64

    /// A generator whose sequence is fully determined by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 pseudo-random bits: what `SeededRandom(seed: state)` gives first, after
    /// which the state moves on as that generator's does.
    public mutating func next() -> UInt64 {
        var step = SeededRandom(seed: state)
        state &+= 0x9E37_79B9_7F4A_7C15
        return step.next()
    }
}
