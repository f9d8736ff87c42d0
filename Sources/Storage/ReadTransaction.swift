/// A consistent, read-only view of the backend as of its first read: SQLite's WAL mode gives
/// each read transaction a snapshot, so concurrent commits by the writer are not seen.
public final class ReadTransaction: BackendReader, @unchecked Sendable {
    // @unchecked: the backend's pool hands a transaction to one reader at a time.
    let connection: SQLiteConnection
    private var statements: [Bucket: BucketStatements] = [:]
    private let begin: SQLiteStatement
    private let end: SQLiteStatement
    private let pin: SQLiteStatement

    /// The database file generation this connection was opened on.
    let generation: Int

    init(connection: SQLiteConnection, generation: Int) throws {
        self.connection = connection
        self.generation = generation
        begin = try connection.prepare("BEGIN")
        end = try connection.prepare("COMMIT")
        // BEGIN is deferred; the first read fixes the snapshot, so read something at once.
        pin = try connection.prepare("SELECT count(*) FROM \(Bucket.meta.table) WHERE k = x''")
    }

    func start() throws {
        defer { begin.reset(); pin.reset() }
        try begin.step()
        try pin.step()
    }

    func finish() {
        _ = try? end.step()
        end.reset()
    }

    private func prepared(_ bucket: Bucket) throws -> BucketStatements {
        if let existing = statements[bucket] { return existing }
        let made = try BucketStatements(connection: connection, bucket: bucket)
        statements[bucket] = made
        return made
    }

    public func withValue<T>(_ bucket: Bucket, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        try StatementReader(statements: prepared).withValue(bucket, key, body)
    }

    public func forEach(
        _ bucket: Bucket, from start: [UInt8], to end: [UInt8]?,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try StatementReader(statements: prepared).forEach(bucket, from: start, to: end, body)
    }
}
