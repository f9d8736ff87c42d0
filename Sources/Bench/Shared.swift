import Synchronization

/// An atomic integer that closures and tasks can share (a local `Atomic` cannot be captured).
public final class SharedCounter: Sendable {
    private let value: Atomic<Int>

    /// A counter starting at `initial`.
    public init(_ initial: Int = 0) { value = Atomic(initial) }

    /// Adds `amount`; returns the value before.
    @inlinable @discardableResult
    public func add(_ amount: Int) -> Int { wrappingAddOld(amount) }

    @usableFromInline func wrappingAddOld(_ amount: Int) -> Int {
        value.wrappingAdd(amount, ordering: .relaxed).oldValue
    }

    /// The current value.
    public var current: Int { value.load(ordering: .relaxed) }
}

/// A value behind a mutex that closures and tasks can share.
public final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    /// Wraps `value`.
    public init(_ value: Value) { mutex = Mutex(value) }

    /// Runs `body` with exclusive access to the value.
    public func withLock<T: Sendable>(_ body: (inout sending Value) throws -> sending T) rethrows -> sending T {
        try mutex.withLock(body)
    }
}
