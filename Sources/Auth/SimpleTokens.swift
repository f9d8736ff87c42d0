import Synchronization

/// etcd's simple tokens on one member: `<16 letters>.<log index>`, issued when an
/// Authenticate entry is applied (so every member knows every token), kept in memory only,
/// and valid while used: each use moves the expiry `ttl` ahead.
public final class SimpleTokens: Sendable {
    private struct Entry {
        var user: String
        var expires: ContinuousClock.Instant
    }

    private struct Table {
        var entries: [String: Entry] = [:]
        var nextPurge = ContinuousClock.now
    }

    private let table = Mutex(Table())
    private let ttl: Duration

    /// Tokens unused for `ttl` expire (etcd's `--auth-token-ttl`, 300 s by default).
    public init(ttl: Duration) {
        self.ttl = ttl
    }

    /// A fresh random prefix for a token (the part before the dot).
    public static func randomPrefix() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in letters[Int(generator.next(upperBound: UInt(letters.count)))] })
    }

    /// The log index a well-formed token was issued at, nil for anything else.
    public static func index(of token: String) -> UInt64? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return UInt64(parts[1])
    }

    func assign(_ token: String, to user: String) {
        let now = ContinuousClock.now
        table.withLock { table in
            table.entries[token] = Entry(user: user, expires: now + ttl)
            // Expired tokens go once a second, as etcd's ticker drops them.
            if now >= table.nextPurge {
                table.entries = table.entries.filter { $0.value.expires > now }
                table.nextPurge = now + .seconds(1)
            }
        }
    }

    /// The user of a live token, whose expiry moves `ttl` ahead; nil when unknown or expired.
    public func user(of token: String) -> String? {
        let now = ContinuousClock.now
        return table.withLock { table in
            guard var entry = table.entries[token] else { return nil }
            guard entry.expires > now else {
                table.entries[token] = nil
                return nil
            }
            entry.expires = now + ttl
            table.entries[token] = entry
            return entry.user
        }
    }

    func drop(user: String) {
        table.withLock { table in table.entries = table.entries.filter { $0.value.user != user } }
    }

    func dropAll() {
        table.withLock { $0.entries.removeAll() }
    }
}
