import Foundation
import HarnessSupport
import XCTest

/// The seeds' static three-member bootstrap (names n1-n3, token cluster1, client URLs on an
/// address and on localhost) started with the real etcd and then with swetcd on the same
/// ports: `etcdctl member list -w table` and `endpoint status --cluster -w table` must
/// show the same cluster (same member and cluster IDs), values that legitimately differ
/// (versions, db sizes, who won the election, term and index) masked.
final class SeedsBootstrapTests: XCTestCase {
    struct Node {
        var name: String
        var clientPort: Int
        var localhostPort: Int
        var peerPort: Int
    }

    func arguments(_ node: Node, nodes: [Node], dataDirectory: URL) -> [String] {
        let cluster = nodes.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        return [
            "--name", node.name, "--data-dir", dataDirectory.appendingPathComponent(node.name).path,
            "--initial-cluster-token", "cluster1", "--initial-cluster-state", "new",
            "--listen-client-urls", "http://127.0.0.1:\(node.clientPort),http://localhost:\(node.localhostPort)",
            "--listen-peer-urls", "http://127.0.0.1:\(node.peerPort)",
            "--advertise-client-urls", "http://127.0.0.1:\(node.clientPort)",
            "--initial-advertise-peer-urls", "http://127.0.0.1:\(node.peerPort)",
            "--initial-cluster", cluster,
        ]
    }

    /// Starts the three nodes with `binary`, runs the two etcdctl commands, stops them.
    func observe(_ binary: URL, nodes: [Node]) throws -> (members: String, status: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seeds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var children: [Child] = []
        defer { for child in children { child.stop() } }
        for node in nodes {
            children.append(try Child(
                executable: binary, arguments: arguments(node, nodes: nodes, dataDirectory: directory),
                environment: Binaries.cleanEnvironment(), stdin: nil,
                stdoutURL: directory.appendingPathComponent("\(node.name).out"),
                stderrURL: directory.appendingPathComponent("\(node.name).err")))
        }
        let etcdctl = try Binaries.fromPath("etcdctl", override: "ETCDCTL_BIN")
        let endpoints = nodes.map { "127.0.0.1:\($0.clientPort)" }.joined(separator: ",")
        func run(_ arguments: [String]) throws -> CommandOutput {
            let out = directory.appendingPathComponent("ctl-\(UUID().uuidString)")
            return try Child(
                executable: etcdctl, arguments: ["--endpoints", endpoints] + arguments,
                environment: Binaries.cleanEnvironment(["ETCDCTL_API": "3"]), stdin: nil,
                stdoutURL: out, stderrURL: out.appendingPathExtension("err")
            ).finish(timeout: 20)
        }
        // Ready once every member answers and has published itself (all names listed).
        let deadline = Date().addingTimeInterval(60)
        var members = ""
        while Date() < deadline {
            let list = try run(["member", "list", "-w", "table"])
            members = String(decoding: list.stdout, as: UTF8.self)
            let health = try run(["endpoint", "health"])
            if list.status == 0, health.status == 0, nodes.allSatisfy({ members.contains("| \($0.name) |") }) { break }
            usleep(200_000)
        }
        let status = String(decoding: try run(["endpoint", "status", "--cluster", "-w", "table"]).stdout, as: UTF8.self)
        return (members, status)
    }

    /// Masks the columns of `endpoint status` whose values legitimately differ.
    func normalizeStatus(_ table: String) -> String {
        table.split(separator: "\n").map { line -> String in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard cells.count == 12, !line.contains("ENDPOINT") else {
                return line.allSatisfy({ "+-".contains($0) }) ? "<border>" : String(line)
            }
            // ENDPOINT, ID and IS LEARNER stay; VERSION, DB SIZE, IS LEADER, RAFT TERM,
            // RAFT INDEX, RAFT APPLIED INDEX are masked; ERRORS stays.
            let kept = [cells[1], cells[2], cells[6], cells[10]].map { $0.trimmingCharacters(in: .whitespaces) }
            return kept.joined(separator: "|")
        }.joined(separator: "\n")
    }

    func testSeedsStaticBootstrapLooksLikeEtcd() throws {
        let ports = try Ports.free(9)
        let nodes = (0..<3).map { i in
            Node(name: "n\(i + 1)", clientPort: ports[3 * i], localhostPort: ports[3 * i + 1], peerPort: ports[3 * i + 2])
        }
        let etcd = try observe(try Binaries.fromPath("etcd", override: "ETCD_BIN"), nodes: nodes)
        let swetcd = try observe(try Binaries.swetcd(), nodes: nodes)
        print("etcd member list:\n\(etcd.members)swetcd member list:\n\(swetcd.members)swetcd endpoint status:\n\(swetcd.status)")
        XCTAssertEqual(swetcd.members, etcd.members, "member list -w table")
        XCTAssertEqual(normalizeStatus(swetcd.status), normalizeStatus(etcd.status), "endpoint status --cluster -w table")
        XCTAssertTrue(swetcd.status.contains("true"), "one member leads")
    }
}
