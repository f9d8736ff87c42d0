import EtcdConfiguration
import EtcdServer
import EtcdTLS
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The client port's listening sockets, bound before the member starts, as etcd binds its
/// listeners before it creates the server. Connections made while the member is still
/// starting wait in the kernel's backlog and are served once it is ready, so whoever waits
/// for a start-up log line and then connects is never refused.
public struct ClientListeners: Sendable {
    /// A listening socket and what it serves.
    struct Socket: Sendable {
        let descriptor: CInt
        let url: ServiceURL
        let grpc: Bool
        let http: Bool
        /// Only `/metrics` and `/health` (`--listen-metrics-urls`).
        var metricsOnly = false
    }

    let sockets: [Socket]
    /// The TLS of the `https://` client sockets, loaded before anything listens.
    let tls: ReloadingTLSContext?
    /// The TLS of the `https://` metrics sockets.
    let metricsTLS: ReloadingTLSContext?

    /// The TLS a socket is served with (nil: plaintext).
    func tls(for socket: Socket) -> ReloadingTLSContext? {
        guard socket.url.scheme == "https" else { return nil }
        return socket.metricsOnly ? metricsTLS : tls
    }

    /// Loads the client TLS files when an `https://` URL needs them (a bad file stops the
    /// start with its name), then binds and listens on every `--listen-client-urls` and
    /// `--listen-client-http-urls` and `--listen-metrics-urls` address; nothing is accepted
    /// until `ClientServer.run` serves them.
    public static func open(_ config: ServerConfig, logger: Logger) throws -> ClientListeners {
        let tls = try ClientTLS.contexts(for: config, logger: logger)
        var sockets: [Socket] = []
        do {
            for url in config.listenClientURLs {
                sockets.append(Socket(descriptor: try openSocket(url), url: url, grpc: true, http: config.listenClientHTTPURLs.isEmpty))
            }
            for url in config.listenClientHTTPURLs {
                sockets.append(Socket(descriptor: try openSocket(url), url: url, grpc: false, http: true))
            }
            for url in config.listenMetricsURLs {
                sockets.append(Socket(descriptor: try openSocket(url), url: url, grpc: false, http: true, metricsOnly: true))
            }
        } catch {
            for socket in sockets { _ = close(socket.descriptor) }
            throw ConfigError("could not listen on client URLs: \(error)")
        }
        return ClientListeners(sockets: sockets, tls: tls.client, metricsTLS: tls.metrics)
    }

    /// Closes the sockets that were never handed to a server (those past the first
    /// `served`, which their channels own).
    public func closeAll(after served: Int = 0) {
        for socket in sockets.dropFirst(served) { _ = close(socket.descriptor) }
    }

    private static func openSocket(_ url: ServiceURL) throws -> CInt {
        let address = try SocketAddress.makeAddressResolvingHost(url.host == "localhost" ? "127.0.0.1" : url.host, port: url.port)
        let family = address.protocol.rawValue
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ListenError(url: url, call: "socket", errno: errno) }
        var reuse: CInt = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<CInt>.size))
        let bound = address.withSockAddr { pointer, length in bind(descriptor, pointer, socklen_t(length)) }
        guard bound == 0 else {
            let error = ListenError(url: url, call: "bind", errno: errno)
            _ = close(descriptor)
            throw error
        }
        guard listen(descriptor, SOMAXCONN) == 0 else {
            let error = ListenError(url: url, call: "listen", errno: errno)
            _ = close(descriptor)
            throw error
        }
        return descriptor
    }
}

/// A client URL the member could not listen on, in Go's words (`listen tcp 127.0.0.1:2379:
/// bind: address already in use`).
struct ListenError: Error, CustomStringConvertible {
    let url: ServiceURL
    let call: String
    let errno: CInt

    var description: String {
        "listen tcp \(url.hostPort): \(call): \(String(cString: strerror(errno)).lowercased())"
    }
}
