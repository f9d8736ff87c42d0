import Testing

@testable import Auth

/// bcrypt as etcd's Go code writes and reads it.
struct BcryptTests {
    /// A classic OpenBSD test vector, also in Go's bcrypt tests: a `$2a$` hash made elsewhere
    /// verifies here (etcd's stored hashes are `$2a$` hashes from Go).
    @Test func aHashMadeElsewhereVerifies() {
        #expect(Bcrypt.verify(Array("U*U".utf8), hash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"))
        #expect(!Bcrypt.verify(Array("U*V".utf8), hash: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"))
    }

    @Test func newHashesAreGoStyleAndVerify() throws {
        let hash = try Bcrypt.hash(Array("secret".utf8), cost: 4)
        #expect(hash.hasPrefix("$2a$04$"))
        #expect(hash.count == 60)
        #expect(Bcrypt.verify(Array("secret".utf8), hash: hash))
        #expect(!Bcrypt.verify(Array("Secret".utf8), hash: hash))
        #expect(try Bcrypt.hash(Array("secret".utf8), cost: 4) != hash, "each hash has its own salt")
    }

    @Test func passwordsPastSeventyTwoBytesAreRefusedAsGoRefusesThem() throws {
        #expect(throws: AuthError.passwordTooLong) { try Bcrypt.hash([UInt8](repeating: 0x61, count: 73), cost: 4) }
        let hash = try Bcrypt.hash([UInt8](repeating: 0x61, count: 72), cost: 4)
        // A megabyte that starts with the password: bcrypt reads 72 bytes, as Go's compare does.
        #expect(Bcrypt.verify([UInt8](repeating: 0x61, count: 1 << 20), hash: hash))
        #expect(!Bcrypt.verify([UInt8](repeating: 0x62, count: 1 << 20), hash: hash))
    }

    @Test func garbageHashesNeverVerify() {
        for hash in ["", "$2a$", "$2a$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "plain", "*0"] {
            #expect(!Bcrypt.verify(Array("U*U".utf8), hash: hash))
        }
    }

    @Test func aFloodOfChecksIsBoundedNotQueuedForever() async throws {
        let hasher = PasswordHasher(cost: 4, maxWaiting: 2)
        let hash = try Bcrypt.hash(Array("pw".utf8), cost: 4)
        let outcomes = await withTaskGroup(of: Result<Bool, AuthError>.self) { group in
            for _ in 0..<40 {
                group.addTask { do throws(AuthError) { return .success(try await hasher.verify(Array("pw".utf8), hash: hash)) } catch { return .failure(error) } }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.contains { if case .success(true) = $0 { true } else { false } })
        #expect(outcomes.allSatisfy { outcome in
            switch outcome {
            case .success(let matched): matched
            case .failure(let error): error == AuthError(.tooManyRequests)
            }
        })
    }
}
