import LeanGRPC

/// Why a call forwarded to the leader got no answer from it.
public enum ForwardingError: Error, Sendable {
    /// This member leads now: it answers the call itself.
    case localIsLeader
    /// No leader answered before the deadline.
    case timedOut
    /// The leader refused the call: its gRPC status code (numbered as gRPC numbers them) and
    /// message, to be passed on to the client as they are.
    case refused(code: Int, message: String)
    /// The call failed for another reason.
    case failed(String)
}

extension PeerTransport {
    /// The message a member answers a forwarded call with when it does not lead (etcd's).
    static let notLeaderMessage = "etcdserver: not leader"
    /// gRPC's UNAVAILABLE.
    static let unavailableCode = 14

    /// Makes `call` on the leader's Peer service, as `leader()` names it: while there is no
    /// leader, or the one called moved on or cannot be reached, it looks again every
    /// `retryInterval` until `deadline`.
    public func forwardToLeader<T: Sendable>(
        leader: () -> UInt64, until deadline: ContinuousClock.Instant, retryInterval: Duration,
        _ call: @Sendable (PeerClient) async throws -> T
    ) async throws(ForwardingError) -> T {
        while true {
            let current = leader()
            if current == localID { throw .localIsLeader }
            if current != 0 {
                do {
                    return try await call(try await peerClient(current))
                } catch let error as LeanRPCError where error.code == Self.unavailableCode || error.message == Self.notLeaderMessage {
                    // The leader moved or is unreachable: look again.
                } catch let error as LeanRPCError {
                    throw .refused(code: error.code, message: error.message)
                } catch let error as PeerError {
                    throw .failed("\(error)")
                } catch {
                    // Connecting failed (refused, reset): the leader is unreachable; look again.
                }
            }
            if ContinuousClock.now > deadline { throw .timedOut }
            try? await Task.sleep(for: retryInterval)
        }
    }
}
