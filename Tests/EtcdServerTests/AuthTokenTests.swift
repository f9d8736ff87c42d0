import EtcdProto
import Foundation
import HarnessSupport
import TestLoad
import Testing
@testable import EtcdServer

/// Tokens as a member issues and checks them: JWTs carry the auth revision, so one issued
/// before an auth change is refused as old; simple tokens live in memory and name their log
/// index; forged tokens of either kind are refused.
@Suite(.serialized, .load(1)) struct AuthTokenTests {
    @Test func aJWTFromBeforeAnAuthChangeIsOldAndSurvivesARestart() async throws {
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("swetcd-jwt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: keys) }
        let privateKey = keys.appendingPathComponent("jwt.key").path
        let publicKey = keys.appendingPathComponent("jwt.pub").path
        let openssl = try Binaries.fromPath("openssl", override: "OPENSSL_BIN")
        for arguments in [
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", privateKey],
            ["ec", "-in", privateKey, "-pubout", "-out", publicKey],
        ] {
            let out = keys.appendingPathComponent("openssl-\(UUID().uuidString)")
            let result = try Child(
                executable: openssl, arguments: arguments, environment: Binaries.cleanEnvironment(), stdin: nil,
                stdoutURL: out, stderrURL: out.appendingPathExtension("err")
            ).finish(timeout: 30)
            try #require(result.status == 0, "openssl \(arguments)")
        }
        let flag = "jwt,pub-key=\(publicKey),priv-key=\(privateKey),sign-method=ES256,ttl=10m"
        let fixture = try await AuthFixture.start(extraArguments: ["--auth-token", flag])
        defer { fixture.member.remove() }
        let token = try #require(fixture.alice.token)
        #expect(token.split(separator: ".").count == 3, "a JWT: \(token)")
        _ = try await fixture.server.put(.key("/app/a"), as: fixture.alice)

        // Any auth change moves the revision: the token's claim is now old.
        var add = Etcdserverpb_AuthRoleAddRequest()
        add.name = "another"
        _ = try await fixture.server.roleAdd(add, as: fixture.root)
        let old = EtcdError(kind: .authOldRevision)
        await #expect(throws: old) { try await fixture.server.put(.key("/app/a"), as: fixture.alice) }
        var get = Etcdserverpb_RangeRequest()
        get.key = Data("/app/a".utf8)
        await #expect(throws: old) { try await fixture.server.range(get, as: fixture.alice) }

        // alg "none", a changed payload, and a token that is not a JWT are invalid.
        let parts = token.split(separator: ".").map(String.init)
        let none = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        let invalid = EtcdError(kind: .invalidAuthToken)
        for forged in ["\(none).\(parts[1]).", "\(parts[0]).\(parts[1])x.\(parts[2])", "abc.1", String(token.dropLast(5))] {
            await #expect(throws: invalid) { try await fixture.server.range(get, as: Credentials(token: forged)) }
        }

        // Stateless: a fresh token works after a restart.
        let fresh = try await fixture.server.login("alice")
        fixture.server.stop()
        let restarted = try await fixture.member.start()
        defer { restarted.stop() }
        _ = try await restarted.range(get, as: fresh)
    }

    @Test func simpleTokensNameTheirLogIndexAndDieWithTheirUser() async throws {
        let fixture = try await AuthFixture.start()
        defer { fixture.stop() }
        let token = try #require(fixture.alice.token)
        let parts = token.split(separator: ".")
        #expect(parts.count == 2 && parts[0].count == 16 && UInt64(parts[1]) != nil, "etcd's simple token: \(token)")
        var get = Etcdserverpb_RangeRequest()
        get.key = Data("/app/a".utf8)
        _ = try await fixture.server.range(get, as: fixture.alice)
        // A token from a future log index is waited for (a ReadIndex round), then refused.
        await #expect(throws: EtcdError(kind: .invalidAuthToken)) {
            try await fixture.server.range(get, as: Credentials(token: "\(parts[0]).\(UInt64(parts[1])! + 1000)"))
        }
        var delete = Etcdserverpb_AuthUserDeleteRequest()
        delete.name = "alice"
        _ = try await fixture.server.userDelete(delete, as: fixture.root)
        await #expect(throws: EtcdError(kind: .invalidAuthToken)) { try await fixture.server.range(get, as: fixture.alice) }
        // Disabling auth drops every token; with auth off, tokens are ignored (etcd 3.6).
        _ = try await fixture.server.authDisable(as: fixture.root)
        _ = try await fixture.server.range(get, as: Credentials(token: "anything.1"))
    }
}
