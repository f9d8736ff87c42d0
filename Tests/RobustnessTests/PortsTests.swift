import Foundation
import HarnessSupport
import Testing

/// The ports servers in tests listen on: a port handed out once is never handed out again
/// by this process, and none comes from the kernel's ephemeral range, where outgoing
/// connections take their source ports.
struct PortsTests {
    @Test func portsAreNeverHandedOutTwiceNorFromTheEphemeralRange() throws {
        var seen = Set<Int>()
        for _ in 0..<50 {
            for port in try Ports.free(3) {
                #expect(seen.insert(port).inserted, "port \(port) handed out twice")
                #expect(port < 32768, "port \(port) is in the ephemeral range")
            }
        }
    }
}
