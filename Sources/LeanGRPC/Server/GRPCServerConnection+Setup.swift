import NIOCore
import NIOHPACK
import NIOHTTP2

/// Setting up a connection: the SETTINGS the server announces and the handlers it needs.
extension GRPCServerConnection {
    /// Concurrent streams a client may open on one connection unless told otherwise: the
    /// limit swift-nio-http2 enforces when SETTINGS name none, now advertised so clients queue
    /// calls instead of having the connection torn down for the 101st.
    public static let defaultMaxConcurrentStreams = 100

    /// The SETTINGS the server side of the connection starts with. HTTP/2 has the client
    /// honour `maxConcurrentStreams` once it saw them; one that opens more loses the connection.
    public static func initialSettings(maxConcurrentStreams: Int = defaultMaxConcurrentStreams) -> HTTP2Settings {
        [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
            HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoder.defaultMaxHeaderListSize),
        ]
    }

    /// The handlers that serve gRPC on a new connection: HTTP/2 framing, then the server.
    public static func handlers(
        on channel: any Channel, routes: GRPCRoutes, maxMessageBytes: Int,
        maxConcurrentStreams: Int = defaultMaxConcurrentStreams,
        refusesLeaderRequiringCalls: @escaping @Sendable () -> GRPCStatus? = { nil },
        admit: @escaping @Sendable (GRPCCallHead) -> GRPCStatus? = { _ in nil },
        identify: (@Sendable (any Channel) -> String?)? = nil
    ) -> [any ChannelHandler] {
        [
            NIOHTTP2Handler(mode: .server, initialSettings: initialSettings(maxConcurrentStreams: maxConcurrentStreams)),
            GRPCServerConnection(
                eventLoop: channel.eventLoop, routes: routes, maxMessageBytes: maxMessageBytes,
                refusesLeaderRequiringCalls: refusesLeaderRequiringCalls, admit: admit, identify: identify),
        ]
    }
}
