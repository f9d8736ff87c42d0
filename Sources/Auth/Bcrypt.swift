import CCrypt
import Foundation

/// bcrypt password hashes, as Go's `golang.org/x/crypto/bcrypt` writes them (`$2a$<cost>$…`),
/// on libxcrypt. Each hash or check costs 2^cost rounds: callers run them through
/// `PasswordHasher`, not on a request thread.
public enum Bcrypt {
    /// Go's default and etcd's `--bcrypt-cost` default.
    public static let defaultCost = 10
    /// The costs Go accepts.
    public static let costs = 4...31
    /// bcrypt reads at most this many bytes of a password; Go refuses to hash longer ones.
    static let maxPasswordBytes = 72

    /// A new hash of `password` with a random salt.
    public static func hash(_ password: [UInt8], cost: Int) throws(AuthError) -> String {
        guard password.count <= maxPasswordBytes else { throw .passwordTooLong }
        guard !password.contains(0) else { throw AuthError(code: .invalidArgument, message: "bcrypt: a password must not contain a NUL byte") }
        var random = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in random.indices { random[index] = generator.next() }
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let made = random.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { bytes in
                crypt_gensalt_rn("$2a$", UInt(cost), bytes.baseAddress, Int32(bytes.count), &setting, Int32(setting.count))
            }
        }
        guard made != nil else { throw AuthError(code: .unknown, message: "bcrypt: cannot make a salt of cost \(cost)") }
        guard let hashed = crypt(password, setting: String(cString: setting)), hashed.hasPrefix("$2") else {
            throw AuthError(code: .unknown, message: "bcrypt: hashing failed")
        }
        return hashed
    }

    /// Whether `password` matches `hash`. bcrypt reads only the first 72 bytes, so longer
    /// passwords are cut there, as Go's comparison does.
    public static func verify(_ password: [UInt8], hash: String) -> Bool {
        guard hash.hasPrefix("$2"), !password.prefix(maxPasswordBytes).contains(0),
            let computed = crypt(Array(password.prefix(maxPasswordBytes)), setting: hash) else {
            return false
        }
        // Constant time: the hashes have the same length when the setting was well formed.
        let a = Array(computed.utf8)
        let b = Array(hash.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// crypt(3) with its own scratch space (thread-safe); nil when libxcrypt refuses.
    private static func crypt(_ password: [UInt8], setting: String) -> String? {
        // crypt(3) takes a C string, so a password with a NUL is refused before it gets here
        // (Go's bcrypt would hash the bytes after it).
        let phrase = password.map { CChar(bitPattern: $0) } + [0]
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        guard let result = crypt_r(phrase, setting, data) else { return nil }
        let text = String(cString: result)
        return text.hasPrefix("*") ? nil : text
    }
}
