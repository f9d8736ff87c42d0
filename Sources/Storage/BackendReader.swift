/// Read access to the backend's buckets, either through a read transaction (a consistent
/// snapshot of what was committed when it began) or through the batch transaction (which
/// also sees its own uncommitted writes).
public protocol BackendReader {
    /// Calls `body` with the value stored under `key`, or returns nil when there is none.
    /// The buffer is valid only inside `body`.
    func withValue<T>(
        _ bucket: Bucket, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T
    ) throws -> T?

    /// Visits the pairs with `start <= key < end` (no upper bound when `end` is nil) in key
    /// order until `body` returns false. Buffers are valid only inside `body`.
    func forEach(
        _ bucket: Bucket, from start: [UInt8], to end: [UInt8]?,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws
}

extension BackendReader {
    /// The value stored under `key`, copied out.
    public func get(_ bucket: Bucket, _ key: [UInt8]) throws -> [UInt8]? {
        try withValue(bucket, key) { Array($0) }
    }

    /// Every pair in the bucket, in key order, copied out.
    public func all(_ bucket: Bucket) throws -> [(key: [UInt8], value: [UInt8])] {
        var result: [(key: [UInt8], value: [UInt8])] = []
        try forEach(bucket, from: [], to: nil) { key, value in
            result.append((Array(key), Array(value)))
            return true
        }
        return result
    }
}

/// The statements one connection uses per bucket, prepared once.
final class BucketStatements {
    let get: SQLiteStatement
    let rangeFrom: SQLiteStatement
    let rangeBetween: SQLiteStatement

    init(connection: SQLiteConnection, bucket: Bucket) throws {
        let table = bucket.table
        get = try connection.prepare("SELECT v FROM \(table) WHERE k = ?1")
        rangeFrom = try connection.prepare("SELECT k, v FROM \(table) WHERE k >= ?1 ORDER BY k")
        rangeBetween = try connection.prepare("SELECT k, v FROM \(table) WHERE k >= ?1 AND k < ?2 ORDER BY k")
    }
}

/// Shared implementation of `BackendReader` over one connection's prepared statements.
struct StatementReader {
    let statements: (Bucket) throws -> BucketStatements

    func withValue<T>(_ bucket: Bucket, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        let statement = try statements(bucket).get
        defer { statement.reset() }
        statement.bind(key, at: 1)
        guard try statement.step() else { return nil }
        return try body(statement.blob(at: 0))
    }

    func forEach(
        _ bucket: Bucket, from start: [UInt8], to end: [UInt8]?,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        let prepared = try statements(bucket)
        let statement = end == nil ? prepared.rangeFrom : prepared.rangeBetween
        defer { statement.reset() }
        statement.bind(start, at: 1)
        if let end { statement.bind(end, at: 2) }
        while try statement.step() {
            if try !body(statement.blob(at: 0), statement.blob(at: 1)) { break }
        }
    }
}
