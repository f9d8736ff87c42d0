import Foundation

/// One libFuzzer target's body, shared by both builds of its executable:
///
/// - `scripts/fuzz.sh` builds it with `--sanitize fuzzer -DFUZZING`: libFuzzer supplies
///   `main` and calls `run` through the target's `LLVMFuzzerTestOneInput`.
/// - The normal build (`swift build`) links `FuzzDriver.main` instead, which runs the inputs
///   named on the command line (replay without libFuzzer) or writes the seed corpus.
package protocol FuzzTarget {
    /// Runs one input. Must return for every input; a crash is a bug in the code under test.
    static func run(_ input: [UInt8])
    /// The seed corpus: named inputs that reach deep into the code under test.
    static func seeds() throws -> [(name: String, input: [UInt8])]
}

/// The two entry points a fuzz target's executable has besides libFuzzer's.
package enum FuzzDriver {
    /// The normal build's `main`: `--write-seeds DIR` writes the seed corpus to DIR;
    /// `--mutate SECONDS SEED CURRENT DIR...` runs mutations of the inputs in DIR... for
    /// SECONDS, writing each to the file CURRENT before running it (so a crash leaves it
    /// there); otherwise every argument (a file, or a directory of files) is run as one input.
    package static func main<Target: FuzzTarget>(_ target: Target.Type) {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--write-seeds", arguments.count == 2 {
            exitOnError { try writeSeeds(target, to: arguments[1]) }
            return
        }
        if arguments.first == "--mutate", arguments.count >= 5, let seconds = Double(arguments[1]), let seed = UInt64(arguments[2]) {
            mutate(target, seconds: seconds, seed: seed, current: arguments[3], corpus: arguments[4...].flatMap(files(at:)))
            return
        }
        for path in arguments.flatMap(files(at:)) {
            guard let input = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
            print("running \(path)")
            Target.run([UInt8](input))
        }
    }

    private static func mutate<Target: FuzzTarget>(_: Target.Type, seconds: Double, seed: UInt64, current: String, corpus: [String]) {
        let inputs = corpus.compactMap { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } }
        guard !inputs.isEmpty else { fatalError("no inputs to mutate in the corpus") }
        var mutator = Mutator(seed: seed)
        let start = ContinuousClock.now
        let limit = Duration.milliseconds(Int64(seconds * 1000))
        var runs = 0
        let currentURL = URL(fileURLWithPath: current)
        while ContinuousClock.now - start < limit {
            let base = inputs[Int(mutator.next() % UInt64(inputs.count))]
            let other = inputs[Int(mutator.next() % UInt64(inputs.count))]
            let input = mutator.mutate(base, other: other)
            // Not atomic (no temporary file and rename): this runs for every input.
            try? Data(input).write(to: currentURL)
            Target.run(input)
            runs += 1
        }
        let elapsed = Double((ContinuousClock.now - start).components.seconds) + 1e-9
        print("mutated \(runs) inputs from \(inputs.count) in \(Int(elapsed)) s (\(Int(Double(runs) / elapsed)) runs/s), seed \(seed)")
    }

    /// libFuzzer's `LLVMFuzzerTestOneInput`: runs one input.
    package static func run<Target: FuzzTarget>(_: Target.Type, _ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        Target.run(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }

    /// libFuzzer's `LLVMFuzzerInitialize`: with `FUZZ_WRITE_SEEDS=DIR` in the environment,
    /// writes the seed corpus to DIR and exits (so the fuzzing build can make seeds too).
    package static func initialize<Target: FuzzTarget>(_ target: Target.Type) -> CInt {
        guard let directory = ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"] else { return 0 }
        exitOnError { try writeSeeds(target, to: directory) }
        exit(0)
    }

    private static func writeSeeds<Target: FuzzTarget>(_: Target.Type, to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let seeds = try Target.seeds()
        for seed in seeds {
            try Data(seed.input).write(to: URL(fileURLWithPath: directory + "/" + seed.name))
        }
        print("wrote \(seeds.count) seeds to \(directory)")
    }

    private static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
    }

    private static func exitOnError(_ body: () throws -> Void) {
        do { try body() } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(1)
        }
    }
}
