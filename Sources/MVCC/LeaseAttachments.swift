/// Which keys are attached to which lease, kept by the lessor and updated by the store as
/// keys are written and deleted, so that revoking a lease knows the keys to delete.
public protocol LeaseAttachments: AnyObject, Sendable {
    /// The lease `key` is attached to, 0 when none.
    func lease(of key: [UInt8]) -> Int64
    func attach(_ lease: Int64, key: [UInt8])
    func detach(_ lease: Int64, key: [UInt8])
}
