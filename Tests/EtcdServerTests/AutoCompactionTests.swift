import EtcdConfiguration
import EtcdProto
import Foundation
import TestLoad
import Testing
@testable import EtcdServer

/// etcd's auto-compaction: the schedule each mode follows, the flags, and a leader that
/// compacts its history by itself.
@Suite(.serialized, .load(1)) struct AutoCompactionTests {
    @Test func periodicModeCompactsToTheRevisionOfOnePeriodAgo() {
        let start = ContinuousClock.now
        var schedule = CompactionSchedule(.periodic(.seconds(10)), now: start)
        #expect(schedule.interval == .seconds(1))
        // One sample a second, the store one revision further each time.
        for second in 0..<10 {
            schedule.sample(Int64(100 + second))
            #expect(schedule.due(now: start + .seconds(second + 1) - .milliseconds(1), currentRevision: 0) == nil, "not before a period")
        }
        schedule.sample(110)
        #expect(schedule.due(now: start + .seconds(10), currentRevision: 110) == 100)
        schedule.compacted(100, now: start + .seconds(10))
        // The window slides: a period later the oldest kept sample is the revision of then.
        for second in 11...20 { schedule.sample(Int64(100 + second)) }
        #expect(schedule.due(now: start + .seconds(15), currentRevision: 120) == nil)
        #expect(schedule.due(now: start + .seconds(20), currentRevision: 120) == 110)
        // Past an hour, compactions come hourly and samples every 6 minutes.
        #expect(CompactionSchedule(.periodic(.seconds(86_400)), now: start).interval == .seconds(360))
    }

    @Test func revisionModeKeepsTheLastRevisions() {
        var schedule = CompactionSchedule(.revision(100), now: .now)
        #expect(schedule.interval == .seconds(300))
        #expect(schedule.due(now: .now, currentRevision: 100) == nil)
        #expect(schedule.due(now: .now, currentRevision: 150) == 50)
        schedule.compacted(50, now: .now)
        #expect(schedule.due(now: .now, currentRevision: 150) == nil, "nothing new to compact")
        #expect(schedule.due(now: .now, currentRevision: 151) == 51)
    }

    @Test func theFlagsReadAsEtcdReadsThem() throws {
        func parse(_ arguments: [String]) throws -> ServerConfig.AutoCompaction? {
            try ServerConfig(ServerConfig.flags.parse(arguments, environment: [:])).autoCompaction
        }
        #expect(try parse([]) == nil)
        #expect(try parse(["--auto-compaction-retention", "2"]) == .periodic(.seconds(7200)), "a bare number is hours")
        #expect(try parse(["--auto-compaction-retention", "5m"]) == .periodic(.seconds(300)))
        #expect(try parse(["--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000"]) == .revision(1000))
        #expect(throws: ConfigError.self) { try parse(["--auto-compaction-mode", "hourly", "--auto-compaction-retention", "1"]) }
        #expect(throws: ConfigError.self) { try parse(["--auto-compaction-retention", "soon"]) }
    }

    @Test func aLeaderCompactsByItself() async throws {
        let member = try InProcessMember(name: "autocompact", extraArguments: ["--auto-compaction-retention", "1s"])
        let server = try await member.start()
        defer {
            server.stop()
            member.remove()
        }
        for index in 0..<10 {
            var put = Etcdserverpb_PutRequest()
            put.key = Data("k\(index)".utf8)
            put.value = Data("v".utf8)
            _ = try await server.put(put)
        }
        var old = Etcdserverpb_RangeRequest()
        old.key = Data("k0".utf8)
        old.revision = 2
        let deadline = ContinuousClock.now + .seconds(30)
        var compacted = false
        while !compacted && ContinuousClock.now < deadline {
            do {
                _ = try await server.range(old)
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                #expect(error as? EtcdError == .compacted)
                compacted = true
            }
        }
        #expect(compacted, "revision 2 was compacted within 30 s of a one-second retention")
    }
}
