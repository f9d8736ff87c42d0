import NIOHPACK

/// What a server knows of a call before its first message: the method's path, the
/// request metadata, and who the connection's TLS client certificate says the caller is.
public struct GRPCCallHead: Sendable {
    /// `/package.Service/Method`.
    public let path: String
    let headers: HPACKHeaders
    /// The name the server's `connectionIdentity` found for the connection (for etcd, the
    /// common name of a verified client certificate); nil when none.
    public let connectionIdentity: String?

    public init(path: String, headers: HPACKHeaders, connectionIdentity: String? = nil) {
        self.path = path
        self.headers = headers
        self.connectionIdentity = connectionIdentity
    }

    /// The first value of metadata `name` (lower case), if the call carries it.
    public func first(_ name: String) -> String? {
        headers.first(name: name)
    }
}
