import Foundation
import HarnessSupport

/// A seeded, coverage-blind mutation loop for the normal build, where libFuzzer is not
/// linked: `scripts/fuzz.sh --ci` runs it so CI fuzzes every target for a fixed seed and
/// time without a second, sanitizer-instrumented build of the whole package. The long,
/// coverage-guided runs stay with libFuzzer (`scripts/fuzz.sh --minutes N`).
package struct Mutator {
    private var random: SplitMix64

    package init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    /// The same sequence for the same seed everywhere.
    package mutating func next() -> UInt64 { random.next() }

    private mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

    /// Values that sit at the edges of what integer code handles.
    private static let edges: [UInt64] = [
        0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt64(Int64.max), UInt64(bitPattern: Int64.min),
        UInt64.max, UInt64.max - 1, 1_000_000_000,
    ]

    /// `input` changed in one to four ways, sometimes spliced with `other`.
    package mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            switch below(7) {
            case 0 where !bytes.isEmpty:
                bytes[below(bytes.count)] ^= UInt8(1 << below(8))
            case 1 where !bytes.isEmpty:
                bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: Self.edges[below(Self.edges.count)])
            case 2:
                bytes.insert(contentsOf: (0...below(8)).map { _ in UInt8(truncatingIfNeeded: next()) }, at: below(bytes.count + 1))
            case 3 where !bytes.isEmpty:
                let start = below(bytes.count)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(16)))
            case 4:
                // A protobuf varint holding an edge value, where integers are encoded.
                var value = Self.edges[below(Self.edges.count)]
                var varint: [UInt8] = []
                repeat {
                    varint.append(UInt8(value & 0x7F) | (value > 0x7F ? 0x80 : 0))
                    value >>= 7
                } while value > 0
                bytes.insert(contentsOf: varint, at: below(bytes.count + 1))
            case 5 where !other.isEmpty:
                let cut = below(bytes.count + 1)
                bytes = Array(bytes[..<cut]) + other[below(other.count)...]
            default:
                if !bytes.isEmpty {
                    let start = below(bytes.count)
                    let chunk = bytes[start..<min(bytes.count, start + 1 + below(32))]
                    bytes.insert(contentsOf: chunk, at: below(bytes.count + 1))
                }
            }
        }
        return Array(bytes.prefix(8192))
    }
}
