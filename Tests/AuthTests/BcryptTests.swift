import Dispatch
import Synchronization
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

    /// With the queue held, exactly `maxWaiting` checks wait and the rest are refused at once
    /// with etcd's `too many requests`; the waiting ones finish once the queue runs.
    @Test func aFloodOfChecksIsBoundedNotQueuedForever() async throws {
        let queue = DispatchQueue(label: "held-bcrypt")
        queue.suspend()
        let held = HeldQueue(queue)
        // Without a bound nothing is refused and nothing would release the queue: the test
        // then fails on its counts instead of hanging.
        let failsafe = Task {
            try await Task.sleep(for: .seconds(30))
            held.release()
        }
        defer { failsafe.cancel() }
        let hasher = PasswordHasher(cost: 4, maxWaiting: 2, queue: queue)
        let hash = try Bcrypt.hash(Array("pw".utf8), cost: 4)
        let (refused, matched) = await withTaskGroup(of: Result<Bool, AuthError>.self) { group in
            for _ in 0..<10 {
                group.addTask { do throws(AuthError) { return .success(try await hasher.verify(Array("pw".utf8), hash: hash)) } catch { return .failure(error) } }
            }
            var refused = 0
            var matched = 0
            for await outcome in group {
                switch outcome {
                case .failure(let error):
                    #expect(error == AuthError(.tooManyRequests))
                    refused += 1
                    // The refusals come first: the others cannot finish while the queue is held.
                    if refused == 8 { held.release() }
                case .success(let ok):
                    #expect(refused == 8, "a check finished before the queue ran")
                    if ok { matched += 1 }
                }
            }
            return (refused, matched)
        }
        #expect(refused == 8 && matched == 2)
    }
}

/// A suspended queue resumed exactly once (a second resume would trap).
private final class HeldQueue: Sendable {
    private let queue: DispatchQueue
    private let held = Mutex(true)

    init(_ queue: DispatchQueue) { self.queue = queue }

    func release() {
        held.withLock { held in
            guard held else { return }
            held = false
            queue.resume()
        }
    }
}
