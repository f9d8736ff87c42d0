#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Counts heap allocations made by Swift code. Every Swift heap allocation (class instances,
// and the buffers behind arrays, strings, dictionaries and sets) goes through
// `swift_allocObject`, which calls through the runtime's `_swift_allocObject` hook. We install a
// counting function there that forwards to the original. Allocations the C library makes on its
// own are not counted; Raft makes none.

typealias AllocObjectFn = @convention(c) (UnsafeRawPointer?, Int, Int) -> UnsafeMutableRawPointer?

nonisolated(unsafe) var allocationCount = 0
nonisolated(unsafe) private var originalAlloc: AllocObjectFn?

private let countingAlloc: AllocObjectFn = { metadata, size, alignMask in
    allocationCount &+= 1
    return originalAlloc!(metadata, size, alignMask)
}

/// Installs the counter; returns false if the runtime hook is unavailable (counts stay 0).
func installAllocationCounter() -> Bool {
    guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "_swift_allocObject") else { return false }
    let hook = sym.assumingMemoryBound(to: AllocObjectFn?.self)
    guard let original = hook.pointee else { return false }
    originalAlloc = original
    hook.pointee = countingAlloc
    return true
}
