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
    private let writer: SQLiteConnection
    /// The write side. Only the thread that applies the log may use it.
    public let batch: BatchTransaction
    private let idleReaders = Mutex<[ReadTransaction]>([])
    private let checkpointer: Checkpointer
    private var closed = false

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        writer = try SQLiteConnection(path: path)
        try writer.execute("PRAGMA journal_mode=WAL")
        try writer.execute("PRAGMA synchronous=NORMAL")
        // Checkpoints fsync; they run on their own thread so the apply loop never waits on them.
        try writer.execute("PRAGMA wal_autocheckpoint=0")
        try writer.execute("PRAGMA cache_size=-65536")
        for bucket in Bucket.all {
            try writer.execute("CREATE TABLE IF NOT EXISTS \(bucket.table) (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        }
        batch = try BatchTransaction(connection: writer)
        checkpointer = try Checkpointer(path: path)
    }

    deinit {
        if !closed { try? close() }
    }

    /// Runs `body` in a read transaction: a consistent snapshot of everything committed
    /// before it started. Safe from any thread, concurrently with the writer.
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        let reused = idleReaders.withLock { $0.popLast() }
        let transaction: ReadTransaction
        if let reused {
            transaction = reused
        } else {
            transaction = try ReadTransaction(connection: SQLiteConnection(path: path))
        }
        try transaction.start()
        defer {
            transaction.finish()
            idleReaders.withLock { $0.append(transaction) }
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
        idleReaders.withLock { readers in
            for reader in readers { reader.connection.close() }
            readers.removeAll()
        }
        writer.close()
    }
}
