import Foundation

/// Makes the keys a workload writes or reads: `keySize` bytes, naming one of `keySpaceSize`
/// slots, chosen in order (`sequential`) or uniformly at random.
///
/// A slot number is written big-endian into the key's last bytes (at most 8), the rest
/// stays zero, so keys sort by slot number and equal slots give equal keys.
public struct KeyGenerator: Sendable, Equatable {
    /// Length of every key in bytes.
    public let keySize: Int
    /// Number of distinct keys.
    public let keySpaceSize: Int
    /// Request `i` uses slot `i % keySpaceSize` when true, a random slot otherwise.
    public let sequential: Bool
    /// Seed of the random slot choice: the same seed gives the same key sequence.
    public let seed: UInt64

    /// Fails when the key space does not fit in `keySize` bytes or a size is not positive.
    public init(keySize: Int, keySpaceSize: Int, sequential: Bool, seed: UInt64 = .random(in: 0...UInt64.max)) throws {
        guard keySize > 0 else { throw BenchError.failed("--key-size must be positive, got \(keySize)") }
        guard keySpaceSize > 0 else { throw BenchError.failed("--key-space-size must be positive, got \(keySpaceSize)") }
        if keySize < 8 {
            let slots = 1 << (8 * keySize)
            guard keySpaceSize <= slots else {
                throw BenchError.failed("--key-space-size \(keySpaceSize) does not fit in \(keySize)-byte keys (at most \(slots))")
            }
        }
        self.keySize = keySize
        self.keySpaceSize = keySpaceSize
        self.sequential = sequential
        self.seed = seed
    }

    /// The slot request `index` uses. Random slots are a hash of the index (SplitMix64), so
    /// choosing one needs neither shared state nor a system call.
    @inlinable
    public func slot(forRequest index: Int) -> Int {
        if sequential { return index % keySpaceSize }
        var z = seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(keySpaceSize))
    }

    /// The key of `slot`. Keys of up to 14 bytes live inline in `Data`: no allocation.
    @inlinable
    public func key(slot: Int) -> Data {
        var key = Data(count: keySize)
        let value = UInt64(slot)
        for byte in 0..<min(8, keySize) {
            key[keySize - 1 - byte] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(byte)))
        }
        return key
    }

    /// The key request `index` uses.
    @inlinable
    public func key(forRequest index: Int) -> Data { key(slot: slot(forRequest: index)) }

    /// `count` keys for the ops of request `index`, all different when `count <= keySpaceSize`
    /// (etcd refuses a txn that puts one key twice): consecutive slots from the request's own,
    /// wrapping around the key space. Sequential requests take consecutive runs of `count`.
    public func keys(forRequest index: Int, count: Int) -> [Data] {
        let first = sequential ? (index &* count) % keySpaceSize : slot(forRequest: index)
        return (0..<count).map { key(slot: (first + $0) % keySpaceSize) }
    }
}

/// `count` random bytes (values of puts, keys of the storage benchmark).
public func randomBytes(_ count: Int) -> Data {
    var generator = SystemRandomNumberGenerator()
    var data = Data(count: count)
    data.withUnsafeMutableBytes { bytes in
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255, using: &generator) }
    }
    return data
}
