import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A harness (a test, the robustness run) could not set up what it needs (a process, a port, a binary).
public struct HarnessError: Error, CustomStringConvertible {
    /// What could not be set up, and why.
    public let description: String
    /// The error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// What a finished command printed and how it ended.
public struct CommandOutput: Sendable {
    /// Everything it wrote to stdout.
    public var stdout: Data
    /// Everything it wrote to stderr.
    public var stderr: Data
    /// Its exit status (-1 if it had to be killed).
    public var status: Int32
    /// Whether it outran its time and was killed.
    public var timedOut: Bool
}

/// A child process whose stdin/stdout/stderr are files: no pipe can fill up and block either side,
/// and the output can be read after the fact.
public final class Child: @unchecked Sendable {
    /// The running process.
    public let process = Process()
    /// The file its stdout goes to.
    public let stdoutURL: URL
    /// The file its stderr goes to.
    public let stderrURL: URL
    private let exitSignal = DispatchSemaphore(value: 0)
    private var exited = false

    /// Starts `executable` with `arguments` and exactly `environment`, stdin from `stdin`
    /// (`/dev/null` if nil), stdout and stderr into the given files.
    public init(executable: URL, arguments: [String], environment: [String: String],
         stdin: URL?, stdoutURL: URL, stderrURL: URL) throws {
        self.stdoutURL = stdoutURL
        self.stderrURL = stderrURL
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: stdoutURL)
        let err = try FileHandle(forWritingTo: stderrURL)
        guard let input = try stdin.map({ try FileHandle(forReadingFrom: $0) })
            ?? FileHandle(forReadingAtPath: "/dev/null")
        else { throw HarnessError("cannot open /dev/null") }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let signal = exitSignal
        process.terminationHandler = { _ in signal.signal() }
        defer {
            try? out.close()
            try? err.close()
            try? input.close()
        }
        try process.run()
    }

    /// Its process ID.
    public var pid: Int32 { process.processIdentifier }

    /// Waits (bounded) for the exit; true if it exited.
    @discardableResult
    public func wait(timeout: TimeInterval) -> Bool {
        if exited { return true }
        if exitSignal.wait(timeout: .now() + timeout) == .success {
            exited = true
            return true
        }
        return false
    }

    /// Whether it has exited (without waiting).
    public var hasExited: Bool { wait(timeout: 0) }

    /// Stops the process by its PID: SIGTERM, up to `grace` seconds, then SIGKILL.
    public func stop(grace: TimeInterval = 5) {
        if hasExited { return }
        kill(pid, SIGTERM)
        if wait(timeout: grace) { return }
        kill(pid, SIGKILL)
        wait(timeout: 5)
    }

    /// Runs to completion (bounded by `timeout`, then killed) and collects the output.
    public func finish(timeout: TimeInterval) -> CommandOutput {
        var timedOut = false
        if !wait(timeout: timeout) {
            timedOut = true
            stop(grace: 1)
        }
        return CommandOutput(
            stdout: (try? Data(contentsOf: stdoutURL)) ?? Data(),
            stderr: (try? Data(contentsOf: stderrURL)) ?? Data(),
            status: exited ? process.terminationStatus : -1,
            timedOut: timedOut)
    }
}
