import GRPCCore

extension EtcdError {
    /// The etcd error a call forwarded to another member failed with (the gRPC status the peer
    /// port answered), or nil when `error` is no gRPC status.
    init?(forwarded error: any Error) {
        guard let status = error as? RPCError else { return nil }
        self.init(Code(rawValue: status.code.rawValue) ?? .unknown, status.message)
    }
}
