import Raft

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A segmented write-ahead log of Raft entries, hard states and snapshot markers.
///
/// The log is a directory of segment files `%016x-%016x.wal` (sequence, first index), each
/// preallocated to `segmentSize` bytes so that syncing appended data never has to grow the
/// file. Records are framed and checksummed (see `Record.swift`); the end of the data is the
/// first zero length.
///
/// Writing is split in two so that one disk flush serves many requests (group commit):
/// `save(hardState:entries:)` only encodes into memory, `sync()` writes everything saved since
/// the last sync with one `pwrite` and makes it durable with one `fdatasync`.
///
/// Not thread-safe and deliberately not `Sendable`: one owner (the server's Raft loop) uses it
/// at a time. Move it between isolation domains with `sending` if needed.
public final class WAL {
    /// The segment size used unless another one is given: 64 MiB.
    public static let defaultSegmentSize = 64 << 20

    /// Pending bytes are written out early once a batch grows past this, to bound memory.
    private static let flushThreshold = 4 << 20

    /// The directory holding the segments.
    public let directory: String
    /// Preallocated size of a segment; a segment is cut when the next record would not fit.
    public let segmentSize: Int

    private let lock: DirectoryLock
    private let metadata: [UInt8]
    private let encoder = RecordEncoder()

    private(set) var tail: SegmentName
    private var tailFD: Int32
    /// File offset at which the encoder's bytes will be written.
    private var writeOffset: Int
    /// Offset after the tail segment's header records; a segment holding nothing past it is
    /// never cut (so a record larger than a segment still gets one of its own).
    private var bodyStart: Int
    private var hardState: HardState
    /// Largest entry or snapshot index written; names the next segment.
    private var highestIndex: UInt64
    /// Bytes were written since the last fdatasync.
    private var unsynced = false
    /// The tail segment holds written zeros (not just preallocated blocks) up to here.
    private var zeroedThrough: Int

    /// How far ahead of the data zeros are written, in one go.
    private static let zeroChunk = 1 << 20

    enum Status {
        case open
        case closed
        case failed(String)
    }
    private(set) var status = Status.open

    private init(
        directory: String, segmentSize: Int, lock: DirectoryLock, metadata: [UInt8], tail: SegmentName,
        tailFD: Int32, writeOffset: Int, hardState: HardState, highestIndex: UInt64
    ) {
        self.directory = directory
        self.segmentSize = segmentSize
        self.lock = lock
        self.metadata = metadata
        self.tail = tail
        self.tailFD = tailFD
        self.writeOffset = writeOffset
        self.bodyStart = writeOffset
        self.zeroedThrough = writeOffset
        self.hardState = hardState
        self.highestIndex = highestIndex
    }

    deinit {
        if tailFD >= 0 { FileIO.closeFile(tailFD) }
        lock.release()
    }

    /// The path of the segment being appended to.
    public var currentSegmentPath: String { directory + "/" + tail.fileName }

    // MARK: - Creating

    /// True if `directory` holds at least one WAL segment.
    public static func exists(directory: String) -> Bool {
        let names = (try? SegmentName.list(in: FileIO.normalize(directory))) ?? []
        return !names.isEmpty
    }

    /// Creates a new, empty log in `directory` recording `metadata` (an opaque blob, returned
    /// by every `open`) and a snapshot marker at index 0, and returns it open for appending.
    ///
    /// The log is built in `<directory>.tmp` and renamed into place, so a crash during
    /// creation leaves either no log or a complete one. `directory` must not exist or be empty.
    public static func create(
        directory: String, metadata: [UInt8], segmentSize: Int = WAL.defaultSegmentSize
    ) throws -> WAL {
        precondition(segmentSize > 0, "segment size must be positive")
        let directory = FileIO.normalize(directory)
        if exists(directory: directory) { throw WALError.alreadyExists(directory: directory) }

        let temporary = directory + ".tmp"
        if FileIO.exists(temporary) { try FileIO.removeFlatDirectory(temporary) }
        try FileIO.makeDirectories(temporary)
        // The lock file travels with the directory through the rename.
        let lock = try DirectoryLock(directory: temporary)

        let first = SegmentName(sequence: 0, firstIndex: 0)
        let encoder = RecordEncoder(initialCapacity: 4096)
        encoder.appendSegmentHeader(sequence: first.sequence, firstIndex: first.firstIndex)
        encoder.appendMetadata(metadata)
        encoder.appendSnapshot(.origin)
        let fd = try SegmentFile.create(first, in: temporary, size: segmentSize, header: encoder.bytes)
        do {
            try FileIO.renameFile(temporary, to: directory)
            try FileIO.syncDirectory(FileIO.parentDirectory(of: directory))
        } catch {
            FileIO.closeFile(fd)
            throw error
        }
        return WAL(
            directory: directory, segmentSize: segmentSize, lock: lock, metadata: metadata, tail: first,
            tailFD: fd, writeOffset: encoder.count, hardState: HardState(), highestIndex: 0)
    }

    // MARK: - Opening

    /// Opens the log in `directory` for appending and reads it, starting at the marker of
    /// `snapshot` (nil: the beginning, as written by `create`).
    ///
    /// A torn record at the very end of the log (an interrupted, never-synced write: the file
    /// ends inside it, or a sector of it is still zero) is zeroed and reported in
    /// `WALContents.repairedTail`. Any other damage, including a bad checksum in a last record
    /// that was written whole, throws a `WALError` naming the file and offset. Throws `WALError.locked` if the log is already open elsewhere.
    public static func open(
        directory: String, snapshot: SnapshotMarker? = nil, segmentSize: Int = WAL.defaultSegmentSize
    ) throws -> (WAL, WALContents) {
        precondition(segmentSize > 0, "segment size must be positive")
        let directory = FileIO.normalize(directory)
        // Checked before locking, so that probing a directory without a log leaves nothing in it.
        guard exists(directory: directory) else { throw WALError.notFound(directory: directory) }
        let lock = try DirectoryLock(directory: directory)
        try SegmentFile.removeTemporaryFiles(in: directory)

        let names = try SegmentName.list(in: directory)
        guard !names.isEmpty else { throw WALError.notFound(directory: directory) }
        let marker = snapshot ?? .origin
        guard let start = names.lastIndex(where: { $0.firstIndex <= marker.index }) else {
            throw WALError.noSegmentForSnapshot(directory: directory, snapshot: marker)
        }
        for position in (start + 1)..<names.count where names[position].sequence != names[position - 1].sequence + 1 {
            throw WALError.missingSegment(
                directory: directory, expectedSequence: names[position - 1].sequence + 1, found: names[position].fileName)
        }

        var replay = Replay(snapshot: marker)
        for name in names[start..<(names.count - 1)] {
            let path = directory + "/" + name.fileName
            let fd = try FileIO.openFile(path, O_RDONLY)
            defer { FileIO.closeFile(fd) }
            let segment = try SegmentBytes(fd: fd, path: path)
            _ = try replay.read(segment.bytes, name: name, path: path, isLast: false)
        }

        let tail = names[names.count - 1]
        let tailPath = directory + "/" + tail.fileName
        let fd = try FileIO.openFile(tailPath, O_RDWR)
        do {
            let segment = try SegmentBytes(fd: fd, path: tailPath)
            let end = try replay.read(segment.bytes, name: tail, path: tailPath, isLast: true)
            var repair: TailRepair?
            if let torn = end.torn {
                try FileIO.writeZeros(fd, end.offset..<torn.dirtyEnd, path: tailPath)
                repair = TailRepair(
                    file: tailPath, offset: end.offset, bytesDropped: torn.dirtyEnd - end.offset, reason: torn.reason)
            }
            if segment.count < segmentSize {
                try FileIO.preallocate(fd, size: segmentSize, path: tailPath)
            }
            if repair != nil || segment.count < segmentSize {
                try FileIO.syncData(fd, path: tailPath)
            }
            guard replay.snapshotFound else {
                throw WALError.snapshotNotFound(directory: directory, snapshot: marker)
            }
            let metadata = replay.metadata ?? []
            let wal = WAL(
                directory: directory, segmentSize: segmentSize, lock: lock, metadata: metadata, tail: tail,
                tailFD: fd, writeOffset: end.offset, hardState: replay.hardState,
                highestIndex: max(replay.highestIndex, marker.index))
            let contents = WALContents(
                metadata: metadata, hardState: replay.hardState, entries: replay.entries, repairedTail: repair)
            return (wal, contents)
        } catch {
            FileIO.closeFile(fd)
            throw error
        }
    }

    // MARK: - Appending

    /// Appends `entries`, then `hardState` (unless nil or empty), to the in-memory batch.
    /// Nothing is durable until `sync()`. An entry whose index is at or below one already in
    /// the log replaces it and everything after it when the log is read back.
    public func save(hardState: HardState? = nil, entries: [Entry] = []) throws {
        try guarded {
            for entry in entries {
                try makeRoom(for: RecordEncoder.frameSize(of: entry))
                encoder.appendEntry(entry)
                if entry.index > highestIndex { highestIndex = entry.index }
            }
            if let state = hardState, !state.isEmpty {
                try makeRoom(for: RecordLayout.frameSize(payloadSize: RecordLayout.hardStatePayloadSize))
                encoder.appendHardState(state)
                self.hardState = state
            }
        }
    }

    /// Records that the log up to `marker.index` is covered by a snapshot, and syncs (the
    /// marker must be durable before segments are removed on its behalf).
    public func saveSnapshot(_ marker: SnapshotMarker) throws {
        try guarded {
            try makeRoom(for: RecordLayout.frameSize(payloadSize: RecordLayout.snapshotPayloadSize))
            encoder.appendSnapshot(marker)
            if marker.index > highestIndex { highestIndex = marker.index }
            try syncNow()
        }
    }

    /// Makes everything saved so far durable: one write of the pending batch and one
    /// `fdatasync`. Does nothing if nothing was saved since the last sync.
    public func sync() throws {
        try guarded { try syncNow() }
    }

    /// Syncs what was saved and releases the file descriptors and the directory lock.
    /// Closing twice is harmless.
    public func close() throws {
        if case .closed = status { return }
        defer {
            FileIO.closeFile(tailFD)
            tailFD = -1
            lock.release()
            status = .closed
        }
        if case .open = status { try syncNow() }
    }

    // MARK: - Internals

    /// Runs `body` if the WAL is usable; a failure poisons it, since after a failed write or
    /// fdatasync the file's contents are unknown.
    private func guarded(_ body: () throws -> Void) throws {
        switch status {
        case .open: break
        case .closed: throw WALError.closed
        case .failed(let previous): throw WALError.failed(previous: previous)
        }
        do {
            try body()
        } catch {
            status = .failed("\(error)")
            throw error
        }
    }

    private func syncNow() throws {
        try flush()
        if unsynced {
            try FileIO.syncData(tailFD, path: currentSegmentPath)
            unsynced = false
        }
    }

    /// Writes the pending batch to the tail segment (no sync).
    private func flush() throws {
        guard encoder.count > 0 else { return }
        try FileIO.write(tailFD, encoder.bytes, at: writeOffset, path: currentSegmentPath)
        writeOffset += encoder.count
        encoder.reset()
        unsynced = true
        try zeroAhead()
    }

    /// Keeps written zeros ahead of the data. Preallocated blocks are "unwritten" to the file
    /// system, so the first fdatasync of data landing in them also commits the extent change
    /// to its journal; with zeros written (and synced along with the data, a megabyte at a
    /// time) later syncs flush data only — about half the time of each on this machine's disk.
    /// Only bytes past the data are written, and zeros are what a reader expects there.
    private func zeroAhead() throws {
        guard zeroedThrough < segmentSize, writeOffset + Self.zeroChunk / 4 > zeroedThrough else { return }
        let start = max(zeroedThrough, writeOffset)
        // A record larger than a segment may have taken the data past the preallocated end.
        guard start < segmentSize else { return }
        let end = min(segmentSize, start + Self.zeroChunk)
        try FileIO.writeZeros(tailFD, start..<end, path: currentSegmentPath)
        zeroedThrough = end
    }

    /// Before encoding a record of `frame` bytes: cuts a new segment if it would not fit in
    /// this one, or writes out a batch that has grown large.
    private func makeRoom(for frame: Int) throws {
        let end = writeOffset + encoder.count
        if end + frame > segmentSize && end > bodyStart {
            try cut()
        } else if encoder.count >= Self.flushThreshold {
            try flush()
        }
    }

    /// Finishes the tail segment (written and synced, so only the last segment can ever hold
    /// a torn write) and continues in a new one, which repeats the metadata and hard state.
    private func cut() throws {
        try flush()
        if unsynced {
            try FileIO.syncData(tailFD, path: currentSegmentPath)
            unsynced = false
        }
        let next = SegmentName(sequence: tail.sequence + 1, firstIndex: highestIndex + 1)
        encoder.appendSegmentHeader(sequence: next.sequence, firstIndex: next.firstIndex)
        encoder.appendMetadata(metadata)
        if !hardState.isEmpty { encoder.appendHardState(hardState) }
        let fd = try SegmentFile.create(next, in: directory, size: segmentSize, header: encoder.bytes)
        FileIO.closeFile(tailFD)
        tail = next
        tailFD = fd
        writeOffset = encoder.count
        bodyStart = writeOffset
        zeroedThrough = writeOffset
        encoder.reset()
    }
}
