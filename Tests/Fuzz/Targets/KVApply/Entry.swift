import FuzzSupport

// libFuzzer's entry points in the fuzzing build (scripts/fuzz.sh), a replaying main otherwise.
#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput") public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt { FuzzDriver.run(KVApplyTarget.self, data, size) }
@_cdecl("LLVMFuzzerInitialize") public func initialize(_ argc: UnsafeMutableRawPointer, _ argv: UnsafeMutableRawPointer) -> CInt { FuzzDriver.initialize(KVApplyTarget.self) }
#else
@main enum Replay { static func main() { FuzzDriver.main(KVApplyTarget.self) } }
#endif
