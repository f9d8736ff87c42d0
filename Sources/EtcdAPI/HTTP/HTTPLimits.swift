import NIOCore

/// What one HTTP/1.1 client may hold of the server: how large a request body may grow and
/// how long a connection may sit idle or take to send a request. etcd's HTTP server sets no
/// timeouts; these keep stalled and slow clients from holding memory and connections forever.
struct HTTPLimits: Sendable {
    /// Largest gRPC request message, as etcd allows it: `--max-request-bytes` plus 512 KiB of
    /// gRPC overhead (etcd's `MaxRecvMsgSize`). The gateway's refusals quote it.
    var maxMessageBytes: Int
    /// Largest request body read: the JSON of a largest message (bytes fields are base64,
    /// 4/3 of their size). A body past it is refused as soon as it is declared or received.
    var maxBodyBytes: Int
    /// Time allowed to receive one request, from its first byte to the end of its body.
    var requestTimeout: TimeAmount
    /// Time a connection may wait for its next request (or its first) before it is closed.
    var idleTimeout: TimeAmount

    static let defaultRequestTimeout = TimeAmount.seconds(30)
    static let defaultIdleTimeout = TimeAmount.seconds(120)

    /// `maxMessageBytes`: `ServerConfig.maxReceivedMessageBytes`.
    init(maxMessageBytes: Int, requestTimeout: TimeAmount = defaultRequestTimeout, idleTimeout: TimeAmount = defaultIdleTimeout) {
        self.maxMessageBytes = maxMessageBytes
        maxBodyBytes = maxMessageBytes > Int.max / 4 * 3 ? .max : maxMessageBytes / 3 * 4
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
    }

    /// etcd's answer (through grpc-gateway) for a request larger than gRPC accepts. etcd
    /// quotes the decoded message's size; a body refused unread is quoted by its own size.
    func tooLarge(_ size: Int) -> HTTPResponse {
        GatewayError.messageTooLarge(size, limit: maxMessageBytes).response
    }
}
