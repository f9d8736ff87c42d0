import Crypto

/// Member and cluster IDs computed exactly as etcd computes them, so a member started with
/// the same flags as an etcd member gets the same IDs (the default member is
/// `8e9e05c52164694d` in cluster `cdf818194e3a8c32`).
public enum MemberIdentity {
    /// The ID of a member: the first 8 bytes (big-endian) of SHA-1 over its sorted peer URLs,
    /// the cluster token and, for members added at runtime, the addition time in seconds.
    public static func memberID(peerURLs: [String], clusterToken: String, addedAt unixSeconds: Int64? = nil) -> UInt64 {
        var input = peerURLs.sorted().joined()
        input += clusterToken
        if let unixSeconds { input += String(unixSeconds) }
        return firstEightBytes(of: Insecure.SHA1.hash(data: Array(input.utf8)))
    }

    /// The ID of a cluster: the first 8 bytes of SHA-1 over its sorted member IDs, each as
    /// 8 big-endian bytes.
    public static func clusterID(memberIDs: [UInt64]) -> UInt64 {
        var bytes: [UInt8] = []
        for id in memberIDs.sorted() {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: id >> UInt64(shift))) }
        }
        return firstEightBytes(of: Insecure.SHA1.hash(data: bytes))
    }

    /// An ID as etcd prints it: lower-case hex without leading zeros.
    public static func hex(_ id: UInt64) -> String { String(id, radix: 16) }

    private static func firstEightBytes(of digest: Insecure.SHA1Digest) -> UInt64 {
        digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}
