import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Free TCP ports for servers to listen on.
public enum Ports {
    /// Free TCP ports on 127.0.0.1, chosen by the kernel (bind to port 0); all sockets are held
    /// open until every port is chosen, so the ports are distinct.
    public static func free(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        var ports: [Int] = []
        for _ in 0..<count {
            #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
            sockets.append(fd)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = 0
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
            }
            guard bound == 0 else { throw HarnessError("bind() failed: errno \(errno)") }
            let named = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
            }
            guard named == 0 else { throw HarnessError("getsockname() failed: errno \(errno)") }
            ports.append(Int(UInt16(bigEndian: addr.sin_port)))
        }
        return ports
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
