import Foundation
import Logging

/// systemd's readiness protocol (`sd_notify`), as etcd speaks it through go-systemd: one
/// datagram with the new state to the Unix socket named by `$NOTIFY_SOCKET` (a leading `@`
/// is Linux's abstract namespace). Without the variable nothing is sent; a socket that
/// cannot be reached is logged and the member goes on serving.
enum SystemdNotify {
    /// The member serves clients (`Type=notify` units are started).
    static let ready = "READY=1"
    /// The member began shutting down.
    static let stopping = "STOPPING=1"

    /// Sends `state`; logs a failure as etcd does (`failed to notify systemd for readiness`).
    static func send(_ state: String, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return }
        if let failure = deliver(state, to: path) {
            logger.error(
                state == ready ? "failed to notify systemd for readiness" : "failed to notify systemd",
                metadata: ["error": "\(failure)", "state": "\(state)"])
        }
    }

    /// Writes `state` to the datagram socket at `path`; returns Go's words for a failure.
    static func deliver(_ state: String, to path: String) -> String? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(path.utf8)
        if name.first == UInt8(ascii: "@") { name[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard name.count < capacity else { return "dial unixgram \(path): invalid argument" }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count + (name.first == 0 ? 0 : 1))
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return "socket: \(String(cString: strerror(errno)))" }
        defer { close(descriptor) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) }
        }
        guard connected == 0 else { return "dial unixgram \(path): connect: \(String(cString: strerror(errno)).lowercased())" }
        let sent = Array(state.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard sent == state.utf8.count else { return "write unixgram \(path): \(String(cString: strerror(errno)).lowercased())" }
        return nil
    }
}
