/// The backend's single write transaction. Writes accumulate in an open SQLite transaction
/// and become visible to readers (and durable in the SQLite file) only at `commit()`.
///
/// Owned by one thread, the server's apply loop: the backend never touches it concurrently,
/// which is why it needs no lock of its own.
public final class BatchTransaction: BackendReader {
    private let connection: SQLiteConnection
    private var statements: [Bucket: BucketStatements] = [:]
    private var puts: [Bucket: SQLiteStatement] = [:]
    private var deletes: [Bucket: SQLiteStatement] = [:]
    private let begin: SQLiteStatement
    private let commitStatement: SQLiteStatement
    private var open = false
    /// Writes since the last commit.
    public private(set) var pendingWrites = 0

    init(connection: SQLiteConnection) throws {
        self.connection = connection
        begin = try connection.prepare("BEGIN IMMEDIATE")
        commitStatement = try connection.prepare("COMMIT")
    }

    private func ensureOpen() throws {
        guard !open else { return }
        defer { begin.reset() }
        try begin.step()
        open = true
    }

    private func prepared(_ bucket: Bucket) throws -> BucketStatements {
        if let existing = statements[bucket] { return existing }
        let made = try BucketStatements(connection: connection, bucket: bucket)
        statements[bucket] = made
        return made
    }

    private var reader: StatementReader { StatementReader(statements: prepared) }

    public func put(_ bucket: Bucket, _ key: [UInt8], _ value: [UInt8]) throws {
        try value.withUnsafeBytes { try put(bucket, key, $0) }
    }

    public func put(_ bucket: Bucket, _ key: [UInt8], _ value: UnsafeRawBufferPointer) throws {
        try ensureOpen()
        let statement = try puts[bucket] ?? {
            let made = try connection.prepare("INSERT OR REPLACE INTO \(bucket.table) (k, v) VALUES (?1, ?2)")
            puts[bucket] = made
            return made
        }()
        defer { statement.reset() }
        statement.bind(key, at: 1)
        statement.bind(value, at: 2)
        try statement.step()
        pendingWrites += 1
    }

    public func delete(_ bucket: Bucket, _ key: [UInt8]) throws {
        try ensureOpen()
        let statement = try deletes[bucket] ?? {
            let made = try connection.prepare("DELETE FROM \(bucket.table) WHERE k = ?1")
            deletes[bucket] = made
            return made
        }()
        defer { statement.reset() }
        statement.bind(key, at: 1)
        try statement.step()
        pendingWrites += 1
    }

    /// Makes every write since the last commit visible and durable in one SQLite commit.
    public func commit() throws {
        guard open else { return }
        defer { commitStatement.reset() }
        try commitStatement.step()
        open = false
        pendingWrites = 0
    }

    public func withValue<T>(_ bucket: Bucket, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try reader.withValue(bucket, key, body)
    }

    public func forEach(
        _ bucket: Bucket, from start: [UInt8], to end: [UInt8]?,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try reader.forEach(bucket, from: start, to: end, body)
    }
}
