import EtcdConfiguration
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOTLS
import Testing
@testable import EtcdTLS

/// Two members with `--peer-auto-tls` talk to each other: a handshake between our own client
/// and server contexts over the generated P-521 certificates, in memory.
@Suite struct AutoTLSHandshakeTests {
    /// Records whether the TLS handshake completed on its channel.
    final class HandshakeRecorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var completed = false
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event { completed = true }
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Before BoringSSL was told to accept P-521 signatures, this handshake failed with
    /// NO_COMMON_SIGNATURE_ALGORITHMS and a peer-auto-tls cluster never elected a leader.
    @Test func membersWithGeneratedCertificatesCompleteTheHandshake() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("auto-tls-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var requested = TLSSettings()
        requested.autoTLS = true
        let logger = Logger(label: "test")
        let settings = try SelfSignedCertificate.resolve(
            requested, directory: directory, hosts: ["127.0.0.1"], validityYears: 1, flag: "peer auto TLS", logger: logger)
        let server = try ReloadingTLSContext(settings: settings, policy: TLSPolicy(), role: .server, logger: logger)
        let client = try ReloadingTLSContext(settings: settings, policy: TLSPolicy(), role: .client, logger: logger)

        let serverChannel = EmbeddedChannel()
        let clientChannel = EmbeddedChannel()
        let serverSide = HandshakeRecorder()
        let clientSide = HandshakeRecorder()
        try serverChannel.pipeline.syncOperations.addHandlers(server.serverHandlers(endpoint: "peer", logger: logger))
        try serverChannel.pipeline.syncOperations.addHandler(serverSide)
        try clientChannel.pipeline.syncOperations.addHandler(try client.clientHandler(host: "127.0.0.1"))
        try clientChannel.pipeline.syncOperations.addHandler(clientSide)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 2380)
        try serverChannel.connect(to: address).wait()
        try clientChannel.connect(to: address).wait()

        // Pass bytes both ways until neither side has more to say.
        for _ in 0..<20 {
            var moved = false
            while let bytes = try clientChannel.readOutbound(as: ByteBuffer.self) {
                try serverChannel.writeInbound(bytes)
                moved = true
            }
            while let bytes = try serverChannel.readOutbound(as: ByteBuffer.self) {
                try clientChannel.writeInbound(bytes)
                moved = true
            }
            if !moved { break }
        }
        #expect(clientSide.completed && serverSide.completed)
        // Not `finish()`: a TLS channel's close waits for the other side's close_notify.
        clientChannel.pipeline.fireChannelInactive()
        serverChannel.pipeline.fireChannelInactive()
    }
}
