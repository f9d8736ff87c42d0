import EtcdProto
import GRPCCore

/// A gRPC method: grpc-swift's descriptor and the HTTP/2 `:path` the lean transport sends.
public struct BenchMethod: Sendable {
    /// The generated descriptor.
    public let descriptor: MethodDescriptor
    /// `/package.Service/Method`.
    public let path: String

    /// Wraps a generated descriptor.
    public init(_ descriptor: MethodDescriptor) {
        self.descriptor = descriptor
        path = "/" + descriptor.fullyQualifiedMethod
    }

    static let put = BenchMethod(Etcdserverpb_KV.Method.Put.descriptor)
    static let range = BenchMethod(Etcdserverpb_KV.Method.Range.descriptor)
    static let txn = BenchMethod(Etcdserverpb_KV.Method.Txn.descriptor)
    static let leaseGrant = BenchMethod(Etcdserverpb_Lease.Method.LeaseGrant.descriptor)
    static let leaseKeepAlive = BenchMethod(Etcdserverpb_Lease.Method.LeaseKeepAlive.descriptor)
    static let status = BenchMethod(Etcdserverpb_Maintenance.Method.Status.descriptor)
    static let memberList = BenchMethod(Etcdserverpb_Cluster.Method.MemberList.descriptor)
    static let watch = BenchMethod(Etcdserverpb_Watch.Method.Watch.descriptor)
    static let authenticate = BenchMethod(Etcdserverpb_Auth.Method.Authenticate.descriptor)
}
