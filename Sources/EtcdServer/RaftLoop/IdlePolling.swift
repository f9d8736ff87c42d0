/// How long the Raft loop polls for new work before it sleeps, learned from how soon work
/// has been arriving after the loop ran out of it.
///
/// Waking a sleeping thread costs tens of microseconds on a virtual machine, and a lone
/// client pays it on every request: while requests follow each other closely, polling a
/// little longer than they take to come saves that. When they come seldom, polling longer
/// would only burn the core, so the loop polls briefly and sleeps.
struct IdlePolling {
    /// Polling while work comes seldom: catches what is already on its way.
    static let brief: Duration = .microseconds(40)
    /// Polling while work comes in quick succession: a client's round trip on loopback.
    static let extended: Duration = .microseconds(300)
    /// Gaps shorter than this, on average, make the polling extended.
    static let quickSuccession: Duration = .microseconds(250)
    /// Longest gap a sample counts as, so one long pause does not outweigh many short gaps.
    static let longestSample: Duration = .milliseconds(1)

    /// Smoothed gap between running out of work and the next item.
    private var typicalGap = longestSample

    /// How long to poll now.
    var budget: Duration { typicalGap < Self.quickSuccession ? Self.extended : Self.brief }

    /// Notes that work arrived `gap` after the loop ran out of it.
    mutating func record(gap: Duration) {
        typicalGap = (typicalGap * 3 + min(gap, Self.longestSample)) / 4
    }
}
