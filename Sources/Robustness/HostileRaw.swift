import Foundation
import HarnessSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The hostile client's inputs below gRPC, on raw TCP connections to the client port: garbage,
/// a truncated HTTP/2 preface, and JSON gateway requests over HTTP/1.1.
struct RawHostileInputs {
    let port: Int
    var random: SplitMix64

    mutating func run(_ recorder: inout HostileRecorder) async {
        guard !recorder.memberLost else { return }
        // Starts with bytes no HTTP method has, ends a header block: no parser can wait for more.
        var garbage: [UInt8] = [0x00, 0xFF]
        for _ in 0..<8 { withUnsafeBytes(of: random.next()) { garbage += $0 } }
        garbage += Array("\r\n\r\n".utf8)
        var started = recorder.clock.nanoseconds()
        let junk = await RawSocket.exchange(port: port, head: garbage, wait: .seconds(5))
        await recorder.record("\(garbage.count) garbage bytes on a raw connection", started: started,
                              answer: junk.summary, refused: true,
                              failure: junk.answered || junk.closed ? "" : "neither an answer nor a close: \(junk.summary)")

        // The sniffer waits for the rest of the preface (until its idle timeout): only the
        // member's survival is expected, checked by the recorder.
        guard !recorder.memberLost else { return }
        started = recorder.clock.nanoseconds()
        let preface = await RawSocket.exchange(port: port, head: Array("PRI * HTTP/2.0\r\n\r\nSM".utf8), wait: .seconds(1))
        await recorder.record("truncated HTTP/2 preface", started: started, answer: preface.summary, refused: true,
                              failure: preface.error.map { "connection failed: \($0)" } ?? "")

        let depth = 10_001
        let nested = Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
        await http("JSON nested \(depth) levels deep to /v3/kv/put", body: nested, declared: nested.count,
                   expect: 400, &recorder)
        // Only the head is sent unless the member waits for the body, as etcd does.
        let declared = 10 * 1024 * 1024
        await http("\(declared)-byte declared body to /v3/kv/put", body: Array(repeating: 0x20, count: declared),
                   declared: declared, expect: 429, &recorder)
    }

    private func http(_ name: String, body: [UInt8], declared: Int, expect status: Int,
                      _ recorder: inout HostileRecorder) async {
        guard !recorder.memberLost else { return }
        let started = recorder.clock.nanoseconds()
        let head = """
            POST /v3/kv/put HTTP/1.1\r
            Host: 127.0.0.1:\(port)\r
            Content-Type: application/json\r
            Content-Length: \(declared)\r
            Connection: close\r
            \r

            """
        let small = body.count <= 65536
        let exchange = await RawSocket.exchange(port: port, head: Array(head.utf8) + (small ? body : []),
                                                body: small ? [] : body, wait: .seconds(10))
        let got = exchange.httpStatus
        await recorder.record(name, started: started, answer: exchange.summary, refused: got.map { $0 >= 400 } ?? true,
                              failure: got == status ? "" : "expected HTTP \(status), got \(exchange.summary)")
    }
}

/// What one raw TCP exchange got back.
struct RawExchange: Sendable {
    var received: [UInt8] = []
    /// The member closed (or reset) the connection.
    var closed = false
    /// The connection could not be made.
    var error: String?

    var answered: Bool { !received.isEmpty }

    /// The status code of an HTTP/1.1 answer.
    var httpStatus: Int? {
        let line = String(decoding: received.prefix(64), as: UTF8.self)
        guard line.hasPrefix("HTTP/1.") else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    var summary: String {
        if let error { return "connection failed: \(error)" }
        let firstLine = String(decoding: received.prefix(80), as: UTF8.self)
            .split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let text = received.isEmpty ? "no answer" : "\(received.count) bytes \(firstLine.debugDescription)"
        return text + (closed ? ", closed" : ", still open")
    }
}

/// Blocking sockets on a thread of their own, so that waiting never holds a task thread.
enum RawSocket {
    /// Connects to 127.0.0.1:`port`, sends `head`, then `body` in pieces as long as the member
    /// has not answered; reads until the member closes, a header block is complete, or `wait`.
    static func exchange(port: Int, head: [UInt8], body: [UInt8] = [], wait: Duration) async -> RawExchange {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: blockingExchange(port: port, head: head, body: body, wait: wait)) }
                .start()
        }
    }

    private static func blockingExchange(port: Int, head: [UInt8], body: [UInt8], wait: Duration) -> RawExchange {
        var result = RawExchange()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return RawExchange(error: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return RawExchange(error: "connect: errno \(errno)") }
        let deadline = ContinuousClock.now + wait
        guard sendAll(fd, head) else { return receive(fd, until: deadline, into: &result) }
        var offset = 0
        if !body.isEmpty, !readable(fd, within: .seconds(1)) {
            while offset < body.count, !readable(fd, within: .zero) {
                let piece = Array(body[offset..<min(body.count, offset + 65536)])
                guard sendAll(fd, piece) else { break }
                offset += piece.count
            }
        }
        return receive(fd, until: deadline, into: &result)
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { buffer in
                send(fd, buffer.baseAddress, buffer.count, noSignal)
            }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    /// Writing to a closed connection must fail, not raise SIGPIPE.
    private static var noSignal: Int32 {
        #if os(Linux)
        Int32(MSG_NOSIGNAL)
        #else
        0
        #endif
    }

    private static func readable(_ fd: Int32, within duration: Duration) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    private static func receive(_ fd: Int32, until deadline: ContinuousClock.Instant, into result: inout RawExchange) -> RawExchange {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline, !result.received.containsHeaderEnd {
            guard readable(fd, within: max(.zero, min(deadline - ContinuousClock.now, .milliseconds(100)))) else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 {
                result.closed = true
                break
            }
            result.received += buffer[0..<count]
        }
        return result
    }
}

extension [UInt8] {
    /// Holds an HTTP header block's end: an answer's status line and headers are all there.
    fileprivate var containsHeaderEnd: Bool {
        count >= 4 && (0...(count - 4)).contains { self[$0] == 13 && self[$0 + 1] == 10 && self[$0 + 2] == 13 && self[$0 + 3] == 10 }
    }
}
