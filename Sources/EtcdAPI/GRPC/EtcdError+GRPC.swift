import EtcdErrors
import EtcdServer
import GRPCCore

/// etcd's errors leave a member as the gRPC status they name, with etcd's message: LeanGRPC
/// sends any `RPCErrorConvertible` a handler throws that way, on the client port and the peer
/// port alike.
extension EtcdError: RPCErrorConvertible {
    /// The error's code as GRPCCore names it.
    public var rpcErrorCode: RPCError.Code { RPCError.Code(code) }
    /// etcd's message.
    public var rpcErrorMessage: String { message }
}

extension RPCError.Code {
    /// GRPCCore's code of the same number (`unknown` for `ok`, which is no error).
    init(_ code: StatusCode) {
        self = Status.Code(rawValue: code.rawValue).flatMap { RPCError.Code($0) } ?? .unknown
    }
}
