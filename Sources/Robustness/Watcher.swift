import EtcdProto
import Foundation
import GRPCCore
import Synchronization

/// A watcher of a key prefix (every key if empty) on one member, for the whole run: when its stream ends
/// (the member died, was restarted, or cancelled the watch) it watches again from its last
/// revision + 1 on the same member.
public final class Watcher: Sendable {
    public let id: Int
    public let member: Int
    let port: Int
    let prefix: String
    let clock: RunClock
    private let record: Mutex<WatcherRecord>

    public init(id: Int, member: Int, port: Int, prefix: String, startRevision: Int64, clock: RunClock) {
        self.id = id
        self.member = member
        self.port = port
        self.prefix = prefix
        self.clock = clock
        record = Mutex(WatcherRecord(id: id, member: member, startRevision: startRevision))
    }

    public var snapshot: WatcherRecord { record.withLock { $0 } }

    public var lastRevision: Int64 { record.withLock { $0.lastRevision } }

    private struct Cancelled: Error, CustomStringConvertible {
        let description: String
    }

    /// Watches until the task is cancelled.
    public func run() async {
        guard let connection = try? MemberConnection(port: port) else { return }
        var first = true
        while !Task.isCancelled {
            if !first {
                record.withLock { $0.reconnects += 1 }
                try? await Task.sleep(for: .milliseconds(200))
                if Task.isCancelled { break }
            }
            first = false
            do {
                try await watchOnce(connection)
            } catch {
                if Task.isCancelled { break }
                let message = describeError(error)
                record.withLock { if $0.errors.count < 200 { $0.errors.append(message) } }
            }
        }
        await connection.close()
    }

    private func watchOnce(_ connection: MemberConnection) async throws {
        var create = Etcdserverpb_WatchCreateRequest()
        // etcd's "every key": from "\0" to the end.
        create.key = prefix.isEmpty ? Data([0]) : Data(prefix.utf8)
        create.rangeEnd = Data(Self.prefixEnd(prefix).utf8)
        create.startRevision = lastRevision + 1
        var message = Etcdserverpb_WatchRequest()
        message.createRequest = create
        let request = message
        let clock = self.clock
        var options = CallOptions.defaults
        options.waitForReady = false
        try await connection.watch.watch(
            options: options,
            requestProducer: { writer in
                try await writer.write(request)
                // Keep the request stream open; cancelled when the response side ends.
                while true { try await Task.sleep(for: .seconds(3600)) }
            },
            onResponse: { response in
                for try await message in response.messages {
                    let received = clock.nanoseconds()
                    let events = message.events.map { event in
                        WatchEventRecord(
                            type: event.type == .delete ? .delete : .put,
                            key: String(decoding: event.kv.key, as: UTF8.self),
                            value: String(decoding: event.kv.value, as: UTF8.self),
                            modRevision: event.kv.modRevision, createRevision: event.kv.createRevision,
                            version: event.kv.version, received: received)
                    }
                    if !events.isEmpty { self.record.withLock { $0.events += events } }
                    if message.canceled {
                        throw Cancelled(description: """
                            watch cancelled by the server: "\(message.cancelReason)" \
                            (compact revision \(message.compactRevision))
                            """)
                    }
                }
            })
    }

    /// The range end that makes a range of every key starting with `prefix`.
    static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.removeLast()
        }
        return "\0"
    }
}
