import Testing
@testable import EtcdServer

@Suite struct IdlePollingTests {
    @Test func pollsLongerOnlyWhileWorkComesInQuickSuccession() {
        var polling = IdlePolling()
        #expect(polling.budget == IdlePolling.brief, "a loop that has seen no work yet polls briefly")
        for _ in 0..<10 { polling.record(gap: .microseconds(150)) }
        #expect(polling.budget == IdlePolling.extended, "requests a round trip apart: poll through the round trip")
        polling.record(gap: .seconds(5))
        polling.record(gap: .seconds(5))
        #expect(polling.budget == IdlePolling.brief, "after pauses the loop sleeps again soon")
        for _ in 0..<10 { polling.record(gap: .microseconds(150)) }
        #expect(polling.budget == IdlePolling.extended, "a long pause counts as no more than a millisecond")
    }
}
