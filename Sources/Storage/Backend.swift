import Foundation
import Synchronization

/// The persistent backend: every bucket is a table of an SQLite database in WAL mode.
///
/// One batch transaction (`batch`) is written by the server's apply loop and committed in
/// batches; any number of concurrent readers get snapshot-isolated read transactions from a
/// pool of connections. SQLite runs with `synchronous=NORMAL`: a commit is not fsync'd, so
/// after a machine crash the backend may lag behind, never be torn. The server's WAL holds
/// every acknowledged write and replays what the backend lost, using the consistent index
/// the backend records in the same transaction as the data.
public final class Backend: @unchecked Sendable {
    // @unchecked: `batch` is confined to one thread by contract (see BatchTransaction);
    // the reader pool is protected by its mutex; everything else is immutable.

    public let path: String
    private var writer: SQLiteConnection
    /// The write side. Only the thread that applies the log may use it.
    public private(set) var batch: BatchTransaction
    /// Idle read transactions, and the generation of the database file they belong to (a
    /// replaced database makes older connections useless).
    private let readers = Mutex<(generation: Int, idle: [ReadTransaction])>((0, []))
    private var checkpointer: Checkpointer
    private var closed = false

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        (writer, batch) = try Self.openWriter(path)
        checkpointer = try Checkpointer(path: path)
    }

    private static func openWriter(_ path: String) throws -> (SQLiteConnection, BatchTransaction) {
        let writer = try SQLiteConnection(path: path)
        try writer.execute("PRAGMA journal_mode=WAL")
        try writer.execute("PRAGMA synchronous=NORMAL")
        // Checkpoints fsync; they run on their own thread so the apply loop never waits on them.
        try writer.execute("PRAGMA wal_autocheckpoint=0")
        try writer.execute("PRAGMA cache_size=-65536")
        for bucket in Bucket.all {
            try writer.execute("CREATE TABLE IF NOT EXISTS \(bucket.table) (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        }
        return (writer, try BatchTransaction(connection: writer))
    }

    /// Writes a consistent copy of everything committed so far to `destination` (an SQLite
    /// database of its own), without blocking the writer.
    public func copy(to destination: String) throws {
        try? FileManager.default.removeItem(atPath: destination)
        let connection = try SQLiteConnection(path: path)
        defer { connection.close() }
        let quoted = destination.replacingOccurrences(of: "'", with: "''")
        try connection.execute("VACUUM INTO '\(quoted)'")
    }

    /// Replaces the database with the file at `source` (a snapshot from the leader), which is
    /// moved into place. Apply thread only; readers already running finish on the old data.
    public func replaceDatabase(with source: String) throws {
        try batch.commit()
        checkpointer.stop()
        writer.close()
        readers.withLock { readers in
            for reader in readers.idle { reader.connection.close() }
            readers = (readers.generation + 1, [])
        }
        let fileManager = FileManager.default
        for suffix in ["-wal", "-shm"] { try? fileManager.removeItem(atPath: path + suffix) }
        // rename(2) replaces the file atomically: a crash leaves the old or the new database.
        guard rename(source, path) == 0 else {
            throw SQLiteError(code: errno, message: String(cString: strerror(errno)), operation: "rename \(source) to \(path)")
        }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            Glibc.close(directory)
        }
        (writer, batch) = try Self.openWriter(path)
        checkpointer = try Checkpointer(path: path)
    }

    deinit {
        if !closed { try? close() }
    }

    /// Runs `body` in a read transaction: a consistent snapshot of everything committed
    /// before it started. Safe from any thread, concurrently with the writer.
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        let (generation, reused) = readers.withLock { ($0.generation, $0.idle.popLast()) }
        let transaction: ReadTransaction
        if let reused {
            transaction = reused
        } else {
            transaction = try ReadTransaction(connection: SQLiteConnection(path: path), generation: generation)
        }
        try transaction.start()
        defer {
            transaction.finish()
            readers.withLock { readers in
                if transaction.generation == readers.generation {
                    readers.idle.append(transaction)
                } else {
                    transaction.connection.close()
                }
            }
        }
        return try body(transaction)
    }

    /// Commits the batch transaction and nudges the checkpointer.
    public func commit() throws {
        try batch.commit()
        checkpointer.noteCommit()
    }

    /// Bytes the database occupies (pages allocated), like etcd's `dbSize`.
    public func size() throws -> Int64 {
        try read { tx in
            try tx.connection.integer("PRAGMA page_count") * tx.connection.integer("PRAGMA page_size")
        }
    }

    /// Bytes of the database holding live data (allocated pages minus free ones), like
    /// etcd's `dbSizeInUse`.
    public func sizeInUse() throws -> Int64 {
        try read { tx in
            let pages = try tx.connection.integer("PRAGMA page_count") - tx.connection.integer("PRAGMA freelist_count")
            return try pages * tx.connection.integer("PRAGMA page_size")
        }
    }

    /// Commits pending writes, checkpoints the SQLite WAL into the database and closes.
    public func close() throws {
        guard !closed else { return }
        closed = true
        try batch.commit()
        checkpointer.stop()
        try writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        readers.withLock { readers in
            for reader in readers.idle { reader.connection.close() }
            readers.idle.removeAll()
        }
        writer.close()
    }
}
