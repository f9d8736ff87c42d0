import EtcdProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import HarnessSupport
import SwiftProtobuf
import Testing
import TestLoad

/// Every input the KV fuzz target keeps (its seeds and every crash it ever found) is sent
/// through a real three-member cluster; then every member is restarted, which replays the
/// log. All must come back, serve, and agree on the store's hash: no committed request may
/// be a poison pill that stops members at apply or at replay.
@Suite(.load(3, limit: .seconds(300))) struct PoisonPillTests {
    /// The requests of a `fuzz-kv-apply` input: a kind byte, then a chunk (2-byte
    /// little-endian length) with the request's protobuf encoding, as `KVApplyTarget` reads it.
    static func requests(in input: [UInt8]) -> [(kind: UInt8, payload: [UInt8])] {
        var result: [(UInt8, [UInt8])] = []
        var position = 0
        func byte() -> UInt8 {
            guard position < input.count else { return 0 }
            defer { position += 1 }
            return input[position]
        }
        while position < input.count && result.count < 16 {
            let kind = byte() % 7
            let length = Int(byte()) | Int(byte()) << 8
            let end = min(input.count, position + length)
            result.append((kind, Array(input[position..<end])))
            position = end
        }
        return result
    }

    static func inputs() throws -> [URL] {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz")
        var files: [URL] = []
        for folder in ["Corpus/fuzz-kv-apply", "Regressions/fuzz-kv-apply"] {
            let directory = fuzz.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            files += names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }.sorted().map { directory.appendingPathComponent($0) }
        }
        return files
    }

    @Test func fuzzInputsThroughAClusterLeaveEveryMemberRestartable() async throws {
        let files = try Self.inputs()
        #expect(files.count >= 10, "the KV fuzz corpus is missing (Tests/Fuzz/Corpus/fuzz-kv-apply)")
        let cluster = try TestCluster(size: 3)
        defer { cluster.shutdown() }
        try cluster.start()
        _ = try await cluster.waitForLeader()

        let client = try cluster.client("m1")
        let lease = Etcdserverpb_Lease.Client(wrapping: client.client)
        var sent = 0
        for file in files {
            for (kind, payload) in Self.requests(in: [UInt8](try Data(contentsOf: file))) {
                // Answers and refusals alike are fine; only what they leave behind matters.
                if (try? await Self.send(kind, payload, kv: client.kv, lease: lease)) != nil { sent += 1 }
            }
        }
        await client.close()
        #expect(sent > 0)

        for member in cluster.members {
            cluster.stop(member.name)
            try cluster.restart(member.name)
        }
        _ = try await cluster.waitForLeader(timeout: .seconds(30))
        let probe = try cluster.client("m2")
        let revision = try await probe.put("poison-pill/probe", "alive", timeout: 30).header.revision
        await probe.close()
        var hashes: [String: UInt32] = [:]
        for _ in 0..<100 {
            hashes = (try? await cluster.hashes(at: revision)) ?? [:]
            if hashes.count == 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(hashes.count == 3, "not every member answered HashKV at \(revision): \(hashes)")
        #expect(Set(hashes.values).count == 1, "members disagree after replaying the fuzz inputs: \(hashes)")
    }

    /// Sends one request as the client API would receive it; undecodable payloads are skipped.
    static func send(
        _ kind: UInt8, _ payload: [UInt8], kv: Etcdserverpb_KV.Client<HTTP2ClientTransport.Posix>,
        lease: Etcdserverpb_Lease.Client<HTTP2ClientTransport.Posix>
    ) async throws {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 512
        let call = CallOptions.timeout(seconds: 10)
        switch kind {
        case 0: _ = try await kv.range(try .init(serializedBytes: payload, options: options), options: call)
        case 1: _ = try await kv.put(try .init(serializedBytes: payload, options: options), options: call)
        case 2: _ = try await kv.deleteRange(try .init(serializedBytes: payload, options: options), options: call)
        case 3: _ = try await kv.txn(try .init(serializedBytes: payload, options: options), options: call)
        case 4: _ = try await kv.compact(try .init(serializedBytes: payload, options: options), options: call)
        case 5: _ = try await lease.leaseGrant(try .init(serializedBytes: payload, options: options), options: call)
        default: _ = try await lease.leaseRevoke(try .init(serializedBytes: payload, options: options), options: call)
        }
    }
}
