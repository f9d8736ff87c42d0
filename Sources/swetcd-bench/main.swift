import Bench
import Foundation
import NIOCore
import NIOPosix

// Run Swift concurrency on NIO's event loops: tasks and the gRPC connections they drive
// then share threads, with no hop between a cooperative pool and the event loops.
// SWETCD_BENCH_NIO_EXECUTOR=0 keeps Swift's default executor (to measure the difference).
if ProcessInfo.processInfo.environment["SWETCD_BENCH_NIO_EXECUTOR"] != "0" {
    _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

await SwetcdBench.runFromCommandLine()
