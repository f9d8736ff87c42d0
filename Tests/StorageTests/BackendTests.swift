import Foundation
import Testing
@testable import Storage

@Suite struct BackendTests {
    func temporaryPath() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)")
        return dir.appendingPathComponent("db").path
    }

    @Test func writesAreInvisibleToReadersUntilCommit() throws {
        let backend = try Backend(path: temporaryPath())
        try backend.batch.put(.key, [1], [10])
        #expect(try backend.batch.get(.key, [1]) == [10])
        #expect(try backend.read { try $0.get(.key, [1]) } == nil)
        try backend.commit()
        #expect(try backend.read { try $0.get(.key, [1]) } == [10])
        try backend.close()
    }

    @Test func forEachVisitsInByteOrderWithinBounds() throws {
        let backend = try Backend(path: temporaryPath())
        for key: UInt8 in [5, 1, 3, 2, 4] { try backend.batch.put(.meta, [key], [key]) }
        try backend.batch.put(.meta, [3, 0], [])
        try backend.commit()
        var seen: [[UInt8]] = []
        try backend.read { tx in
            try tx.forEach(.meta, from: [2], to: [4]) { key, _ in
                seen.append(Array(key))
                return true
            }
        }
        #expect(seen == [[2], [3], [3, 0]])
        try backend.close()
    }

    @Test func readTransactionIsASnapshot() throws {
        let backend = try Backend(path: temporaryPath())
        try backend.batch.put(.key, [1], [1])
        try backend.commit()
        try backend.read { tx in
            try backend.batch.put(.key, [1], [2])
            try backend.commit()
            #expect(try tx.get(.key, [1]) == [1])
        }
        #expect(try backend.read { try $0.get(.key, [1]) } == [2])
        try backend.close()
    }

    @Test func dataSurvivesReopen() throws {
        let path = temporaryPath()
        do {
            let backend = try Backend(path: path)
            try backend.batch.put(.lease, [7], [1, 2, 3])
            try backend.batch.put(.lease, [8], [])
            try backend.batch.delete(.lease, [8])
            try backend.close()
        }
        let reopened = try Backend(path: path)
        #expect(try reopened.batch.get(.lease, [7]) == [1, 2, 3])
        #expect(try reopened.batch.get(.lease, [8]) == nil)
        #expect(try reopened.size() > 0)
        try reopened.close()
    }
}
