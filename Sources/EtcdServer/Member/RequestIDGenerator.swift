import Foundation
import Synchronization

/// Unique request IDs, shaped like etcd's: the member ID's low 16 bits on top, so members
/// never collide, then the start time in milliseconds and a counter, so restarts don't
/// reuse IDs of entries still in the log.
final class RequestIDGenerator: Sendable {
    private let prefix: UInt64
    private let counter: Atomic<UInt64>

    init(memberID: UInt64, now: Date = Date()) {
        prefix = (memberID & 0xFFFF) << 48
        let millis = UInt64(now.timeIntervalSince1970 * 1000) & (1 << 40 - 1)
        counter = Atomic(millis << 8)
    }

    func next() -> UInt64 {
        let suffix = counter.add(1, ordering: .relaxed).newValue & (1 << 48 - 1)
        return prefix | suffix
    }
}
