/// Why a lease operation failed.
public enum LeaseError: Error, Equatable, Sendable {
    case notFound
    case alreadyExists
    case ttlTooLarge
    /// This member does not keep lease time (it is not the leader).
    case notPrimary
}
