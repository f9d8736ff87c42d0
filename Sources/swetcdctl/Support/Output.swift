import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// etcdctl's exit statuses.
enum ExitCode: Int32 {
    case success = 0
    case error = 1
    case badConnection = 2
    case invalidInput = 3
    case badFeature = 4
    case interrupted = 5
    case io = 6
    case badArgs = 128
}

/// Unbuffered writes to the standard streams (watch and lock output must appear at once, and
/// every byte of a key is written as it is).
enum Out {
    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written <= 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    static func print(_ text: String) { write(1, Array(text.utf8)) }
    static func line(_ text: String = "") { print(text + "\n") }
    static func bytes(_ bytes: [UInt8]) { write(1, bytes) }
    static func bytesLine(_ bytes: [UInt8]) { write(1, bytes + [0x0A]) }
    static func err(_ text: String) { write(2, Array(text.utf8)) }
    static func errLine(_ text: String) { err(text + "\n") }
}

/// Ends the process the way etcdctl's `ExitWithError` does: `Error: <message>` on stderr.
func exitWithError(_ code: ExitCode, _ message: String) -> Never {
    Out.errLine("Error: \(message)")
    exit(code.rawValue)
}

func exitWithError(_ code: ExitCode, _ error: any Error) -> Never {
    exitWithError(code, String(describing: error))
}

func exitProcess(_ code: ExitCode) -> Never {
    exit(code.rawValue)
}
