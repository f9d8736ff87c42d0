import Testing

@testable import Auth

/// The interval structure behind permission checks, against a brute-force model: a key or
/// range is allowed exactly when every key of it lies in some granted range.
struct KeyRangeSetTests {
    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func pointsRangesAndOpenEnds() {
        let set = KeyRangeSet([
            (Self.bytes("k1"), []), (Self.bytes("k2"), Self.bytes("k5")), (Self.bytes("k5"), Self.bytes("k7")),
            (Self.bytes("z"), [0]),
        ])
        #expect(set.contains(Self.bytes("k1")))
        #expect(!set.contains(Self.bytes("k1a")))
        #expect(!set.contains(Self.bytes("k0")))
        #expect(set.covers(start: Self.bytes("k2"), end: Self.bytes("k5")))
        // Touching ranges merge: [k2,k5) and [k5,k7) cover [k3,k7) together.
        #expect(set.covers(start: Self.bytes("k3"), end: Self.bytes("k7")))
        #expect(!set.covers(start: Self.bytes("k3"), end: Self.bytes("k8")))
        #expect(!set.covers(start: Self.bytes("k1"), end: Self.bytes("k3")), "a gap between k1 and k2")
        #expect(set.covers(start: Self.bytes("zz"), end: [0]))
        #expect(!set.covers(start: Self.bytes("k2"), end: [0]))
        #expect(set.intervals.count == 3)
    }

    @Test func anEmptySetAllowsNothing() {
        let set = KeyRangeSet()
        #expect(!set.contains([]))
        #expect(!set.contains(Self.bytes("a")))
        #expect(!set.covers(start: Self.bytes("a"), end: [0]))
    }

    /// Random permissions over a two-letter alphabet, checked against a model that knows every
    /// key up to three letters.
    @Test func agreesWithAModelOfEveryShortKey() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x61, 0x62]
        var keys: [[UInt8]] = [[]]
        for length in 1...3 {
            keys += keys.filter { $0.count == length - 1 }.flatMap { prefix in alphabet.map { prefix + [$0] } }
        }
        keys.sort { $0.lexicographicallyPrecedes($1) }
        func randomKey() -> [UInt8] { keys[Int(generator.next(upperBound: UInt(keys.count)))] }
        for _ in 0..<200 {
            var ranges: [(start: [UInt8], end: [UInt8])] = []
            for _ in 0..<Int(generator.next(upperBound: UInt(4))) {
                let start = randomKey()
                switch generator.next(upperBound: UInt(3)) {
                case 0: ranges.append((start, []))
                case 1: ranges.append((start, [0]))
                default: ranges.append((start, randomKey()))
                }
            }
            let set = KeyRangeSet(ranges)
            func granted(_ key: [UInt8]) -> Bool {
                ranges.contains { range in
                    if range.end.isEmpty { return key == range.start }
                    if range.end == [0] { return !key.lexicographicallyPrecedes(range.start) }
                    return !key.lexicographicallyPrecedes(range.start) && key.lexicographicallyPrecedes(range.end)
                }
            }
            for key in keys { #expect(set.contains(key) == granted(key), "key \(key) in \(ranges)") }
            // The direction that matters for security: a range holding a key that is not
            // granted is never covered. (The model cannot see every key of a range, so it
            // judges only the ranges where it finds such a key.)
            for start in keys {
                for end in keys where start.lexicographicallyPrecedes(end) {
                    let inside = keys.filter { !$0.lexicographicallyPrecedes(start) && $0.lexicographicallyPrecedes(end) }
                    if inside.allSatisfy(granted) { continue }
                    #expect(!set.covers(start: start, end: end), "[\(start), \(end)) in \(ranges)")
                }
            }
        }
    }
}
