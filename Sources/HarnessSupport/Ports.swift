import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free TCP ports for servers to listen on.
///
/// Ports come from 20000–31999, below Linux's ephemeral range (32768–60999): the kernel never
/// hands a port from there to an outgoing connection's source or to another `bind(0)`, so a
/// port chosen here stays free until the server binds it. Each process walks the range from
/// its own starting point and never hands out a port twice, so servers of one test process
/// never collide with each other either.
public enum Ports {
    static let range = 20000..<32000

    /// `count` distinct free ports on 127.0.0.1, none handed out before by this process.
    public static func free(_ count: Int) throws -> [Int] {
        try cursor.withLock { next in
            var ports: [Int] = []
            var tried = 0
            while ports.count < count {
                guard tried < range.count else { throw HarnessError("no free port left in \(range)") }
                let port = range.lowerBound + (next - range.lowerBound) % range.count
                next = port + 1
                tried += 1
                if try isFree(port) { ports.append(port) }
            }
            return ports
        }
    }

    private static let cursor = Mutex(range.lowerBound + Int(getpid()) * 7919 % range.count)

    /// Whether 127.0.0.1:`port` can be bound now (tried and released at once).
    private static func isFree(_ port: Int) throws -> Bool {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}

/// Server start-up on free ports, which someone else can take between `Ports.free` and the
/// server's bind.
public enum PortRetry {
    /// Builds servers on `portCount` free ports with `make` and starts them with `start`. When
    /// starting fails because a port was taken meanwhile (a log says "address already in use"),
    /// closes them and tries again with new ports, at most `attempts` times; any other failure
    /// is thrown at once.
    public static func start<Servers>(
        portCount: Int, attempts: Int = 3,
        make: ([Int]) throws -> Servers, start: (Servers) throws -> Void,
        logs: (Servers) -> [String], close: (Servers) -> Void
    ) throws -> Servers {
        var lastError: (any Error)?
        for _ in 0..<attempts {
            let servers = try make(try Ports.free(portCount))
            do {
                try start(servers)
                return servers
            } catch {
                lastError = error
                let portTaken = logs(servers).contains { $0.contains("address already in use") }
                close(servers)
                if !portTaken { break }
            }
        }
        throw lastError ?? HarnessError("servers did not start")
    }
}
