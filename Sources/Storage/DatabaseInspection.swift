import CSQLite
import Foundation

extension Backend {
    /// Reads the database file at `path` (one received from another member) without making
    /// it the backend, after checking it is a whole, undamaged SQLite database: its header,
    /// a size covering every page the header counts, and SQLite's quick check. Throws when
    /// it is not, or when `body` does. Leaves no journal files behind.
    public static func inspect<T>(databaseAt path: String, _ body: (any BackendReader) throws -> T) throws -> T {
        let fileSize = try (FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        let header = FileHandle(forReadingAtPath: path).flatMap { handle in
            defer { try? handle.close() }
            return try? handle.read(upToCount: 16)
        }
        guard header == Data("SQLite format 3\0".utf8) else {
            throw SQLiteError(code: SQLITE_NOTADB, message: "not an SQLite database", operation: "inspect \(path)")
        }
        defer {
            for suffix in ["-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let connection = try SQLiteConnection(path: path)
        defer { connection.close() }
        let expected = try connection.integer("PRAGMA page_count") * connection.integer("PRAGMA page_size")
        guard expected <= fileSize else {
            throw SQLiteError(
                code: SQLITE_CORRUPT, message: "truncated: \(fileSize) bytes of \(expected)", operation: "inspect \(path)")
        }
        let problems = try connection.integer("SELECT count(*) FROM pragma_quick_check WHERE quick_check != 'ok'")
        guard problems == 0 else {
            throw SQLiteError(code: SQLITE_CORRUPT, message: "quick_check found \(problems) problems", operation: "inspect \(path)")
        }
        let transaction = try ReadTransaction(connection: connection, generation: 0)
        try transaction.start()
        defer { transaction.finish() }
        return try body(transaction)
    }
}
