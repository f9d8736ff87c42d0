import NIOHPACK

/// What a server knows of a call before its first message: the method's path and the
/// request metadata.
public struct GRPCCallHead: Sendable {
    /// `/package.Service/Method`.
    public let path: String
    let headers: HPACKHeaders

    /// The first value of metadata `name` (lower case), if the call carries it.
    public func first(_ name: String) -> String? {
        headers.first(name: name)
    }
}
