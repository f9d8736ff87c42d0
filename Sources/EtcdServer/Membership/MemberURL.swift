import Foundation

/// Peer URLs given to MemberAdd and MemberUpdate, checked by the rules etcd applies there
/// (Go's `url.Parse`, then `net.SplitHostPort` on the host): a scheme of http, https, unix or
/// unixs, a `host:port` with a numeric port, and no path. Like etcd, the port's range is not
/// checked here; the transport treats an unusable port as an unreachable peer.
enum MemberURL {
    /// The URL as it is stored (spaces around it trimmed), or nil when etcd would refuse it.
    static func validated(_ text: String) -> String? {
        let url = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let separator = url.range(of: "://") else { return nil }
        guard ["http", "https", "unix", "unixs"].contains(url[..<separator.lowerBound]) else { return nil }
        let authority = url[separator.upperBound...]
        // A path, query or fragment is refused; so is a host Go's parser refuses.
        guard !authority.contains(where: { "/?#".contains($0) }) else { return nil }
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority
        return isHostPort(hostPort) ? url : nil
    }

    private static func isHostPort(_ text: Substring) -> Bool {
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return false }
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return false }
            port = rest.dropFirst()
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return false }
            port = parts[1]
        }
        return port.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
