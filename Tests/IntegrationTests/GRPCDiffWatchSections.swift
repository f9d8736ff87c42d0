import EtcdProto
import Foundation
import GRPCCore
import SwiftProtobuf

/// The Watch sections (events, history, fragments) and the last Maintenance and Cluster calls.
extension Scenario {
    func watches() async {
        await call("revision before watches") { try await c.kv.range(rangeRequest("a")) }
        let stream = watchStream()
        stream.send(watchCreate("w/a"))
        await watchStep("create auto id on w/a", stream)
        stream.send(watchCreate("w/", "w0", id: 7) { $0.prevKv = true })
        await watchStep("create id 7 prefix w/ prev_kv", stream)
        stream.send(watchCreate("w/b", id: 7))
        await watchStep("create duplicate id 7", stream)
        stream.send(watchCreate("w/", "w0"))
        await watchStep("create auto id after 7", stream)
        stream.send(watchCreate("w/", "w0") { $0.filters = [.noput] })
        await watchStep("create NOPUT", stream)
        stream.send(watchCreate("w/", "w0") { $0.filters = [.nodelete] })
        await watchStep("create NODELETE", stream)
        stream.send(watchCreate("w/b", "w/d") { $0.filters = [.noput, .nodelete] })
        await watchStep("create NOPUT+NODELETE", stream)
        var progress = Etcdserverpb_WatchRequest()
        progress.progressRequest = Etcdserverpb_WatchProgressRequest()
        stream.send(progress)
        await watchStep("progress request", stream)
        await call("w put a") { try await c.kv.put(putRequest("w/a", "1")) }
        await call("w put b") { try await c.kv.put(putRequest("w/b", "2")) }
        await call("w delete a") { try await c.kv.deleteRange(deleteRequest("w/a")) }
        await call("w txn") {
            var r = Etcdserverpb_TxnRequest()
            r.success = [putOp("w/c", "3"), deleteOp("w/b"), putOp("w/a", "4")]
            return try await c.kv.txn(r)
        }
        await watchStep("events", stream)
        var cancel = Etcdserverpb_WatchRequest()
        cancel.cancelRequest.watchID = 7
        stream.send(cancel)
        await watchStep("cancel 7", stream)
        cancel.cancelRequest.watchID = 99
        stream.send(cancel)
        await watchStep("cancel unknown 99", stream)
        await call("w put after cancel") { try await c.kv.put(putRequest("w/b", "5")) }
        await watchStep("events after cancel", stream)
        stream.send(progress)
        await watchStep("progress request again", stream)
        await stream.close()

        let current = await revision()
        // History and future start revisions, range and from-key watches, on a new stream.
        let history = watchStream()
        history.send(watchCreate("w/", "w0", start: current - 4) { $0.prevKv = true })
        await watchStep("history from current-4 with prev_kv", history)
        history.send(watchCreate("w/a", start: current - 4, id: 3))
        await watchStep("history of w/a, id 3", history)
        history.send(watchCreate("w/b", "\0", start: 2))
        await watchStep("from-key w/b, from revision 2", history)
        history.send(watchCreate("\0", "\0", start: current + 2))
        await watchStep("all keys, future revision", history)
        await call("w put (current+1)") { try await c.kv.put(putRequest("w/d", "6")) }
        await call("w put (current+2)") { try await c.kv.put(putRequest("w/e", "7")) }
        await call("w put (current+3)") { try await c.kv.put(putRequest("a", "8")) }
        await watchStep("events after history", history)
        history.send(watchCreate("", ""))
        await watchStep("create with empty key", history)
        history.send(watchCreate("w/", "w0", start: -3))
        await watchStep("create with negative start", history)
        await history.close()
    }

    func fragments() async {
        let stream = watchStream()
        stream.send(watchCreate("frag/", "frag0") { $0.fragment = true; $0.prevKv = true })
        stream.send(watchCreate("frag/", "frag0") { $0.prevKv = true })
        await watchStep("create fragment and non-fragment watches", stream)
        for index in 0..<12 {
            await call("frag put \(index)") {
                try await c.kv.put(putRequest("frag/\(index)", String(repeating: "\(index % 10)", count: 60_000)))
            }
        }
        await step("frag put events", stream, group: \.watchID, normalize: summarizeValues)
        // One revision with 12 events of 60 KB (prev_kv): over the limit, fragmented for watch 0.
        await call("frag delete all") { try await c.kv.deleteRange(deleteRequest("frag/", "frag0")) }
        await step("frag delete events (fragmented)", stream, group: \.watchID, normalize: summarizeValues)
        await stream.close()
    }

    /// Long values as their size and checksum, so that a transcript stays readable.
    func summarizeValues(_ response: inout Etcdserverpb_WatchResponse) {
        func summary(_ value: Data) -> Data {
            guard value.count > 100 else { return value }
            var hash: UInt64 = 0xcbf29ce484222325
            for byte in value { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
            return Data("<\(value.count) bytes, fnv \(String(hash, radix: 16))>".utf8)
        }
        for index in response.events.indices {
            response.events[index].kv.value = summary(response.events[index].kv.value)
            if response.events[index].hasPrevKv {
                response.events[index].prevKv.value = summary(response.events[index].prevKv.value)
            }
        }
    }

    func maintenance() async {
        await status("at the end")
        await call("member list", normalize: { (r: inout Etcdserverpb_MemberListResponse) in
            for index in r.members.indices {
                r.members[index].clientUrls = r.members[index].clientUrls.map {
                    $0.replacingOccurrences(of: ":\(clientPort)", with: ":<CLIENT-PORT>")
                }
            }
        }) { try await c.cluster.memberList(Etcdserverpb_MemberListRequest()) }
        await call("hashkv", normalize: { (r: inout Etcdserverpb_HashKVResponse) in
            // etcd 3.6's hash_revision, which the oracle (3.4) lacks: it must be the hashed,
            // i.e. the header's, revision.
            if r.hashRevision != 0 { r.hashRevision = r.hashRevision == r.header.revision ? 0 : -1 }
        }) { try await c.maintenance.hashKV(Etcdserverpb_HashKVRequest()) }
    }
}
