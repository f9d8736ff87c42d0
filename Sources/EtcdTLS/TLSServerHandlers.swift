import Logging
import NIOCore
import NIOSSL
import NIOTLS

extension ReloadingTLSContext {
    /// The handlers that put TLS in front of a new server connection: the TLS handler with
    /// this port's current context and checks, and one that logs a refused handshake once,
    /// at warning, as etcd's `rejected connection on <endpoint> endpoint`.
    public func serverHandlers(endpoint: String, logger: Logger) -> [any ChannelHandler] {
        let (context, check) = current()
        let tls: NIOSSLServerHandler
        if check.isEmpty {
            tls = NIOSSLServerHandler(context: context)
        } else {
            tls = NIOSSLServerHandler._makeSSLServerHandler(context: context) { leaf, channel in
                guard let reason = check.refusal(of: leaf, remoteIP: channel.remoteAddress?.ipAddress) else { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.eventLoop.makeFailedFuture(CertificateRefused(reason: reason))
            }
        }
        return [tls, HandshakeFailureLogger(endpoint: endpoint, logger: logger)]
    }
}

/// A certificate that chains to a trusted CA but fails a further check (revoked, or a peer
/// whose name is not allowed).
struct CertificateRefused: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}

/// Logs why a connection's TLS handshake failed, once per connection, then lets the TLS
/// handler close it. Errors after the handshake are passed on untouched.
final class HandshakeFailureLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let endpoint: String
    private let logger: Logger
    private var logged = false

    init(endpoint: String, logger: Logger) {
        self.endpoint = endpoint
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        // Passed on first: a removed handler's context forwards nothing.
        if case TLSUserEvent.handshakeCompleted = event {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !logged {
            logged = true
            // A client that connects and leaves without a word is not worth a warning.
            let level: Logger.Level = (error as? NIOSSLError) == .uncleanShutdown ? .debug : .warning
            var metadata: Logger.Metadata = ["error": "\(HandshakeFailure.describe(error))"]
            if let address = context.remoteAddress, let ip = address.ipAddress, let port = address.port {
                metadata["remote-addr"] = "\(ip.contains(":") ? "[\(ip)]" : ip):\(port)"
            }
            logger.log(level: level, "rejected connection on \(endpoint) endpoint", metadata: metadata)
        }
        context.close(promise: nil)
    }
}

/// Why a handshake failed, in the words Go's `crypto/tls` (and so etcd's log) uses where
/// BoringSSL's reason has a Go counterpart.
enum HandshakeFailure {
    static func describe(_ error: any Error) -> String {
        if let refused = error as? CertificateRefused { return refused.reason }
        let text = "\(error)"
        let reasons: [(String, String)] = [
            ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "tls: client didn't provide a certificate"),
            ("HTTP_REQUEST", "tls: first record does not look like a TLS handshake"),
            ("WRONG_VERSION_NUMBER", "tls: first record does not look like a TLS handshake"),
            ("CERTIFICATE_VERIFY_FAILED", "tls: failed to verify client certificate"),
            ("NO_SHARED_CIPHER", "tls: no cipher suite supported by both client and server"),
            ("UNSUPPORTED_PROTOCOL", "tls: client offered only unsupported versions"),
        ]
        for (code, words) in reasons where text.contains(code) { return "\(words) (\(code))" }
        return text
    }
}
