import NIOCore
import NIOHTTP1

/// A complete HTTP/1.1 response to write.
struct HTTPResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer

    init(status: HTTPResponseStatus, contentType: String, body: String) {
        self.status = status
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        self.headers = headers
        self.body = ByteBuffer(string: body)
    }

    static func json(_ body: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: body)
    }

    static func text(_ body: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: body)
    }

    /// Go's http.Error: plain text, and a header that tells browsers not to sniff it.
    static func goError(_ body: String, status: HTTPResponseStatus) -> HTTPResponse {
        var response = text(body, status: status)
        response.headers.add(name: "X-Content-Type-Options", value: "nosniff")
        return response
    }

    static let notFound = goError("404 page not found\n", status: .notFound)

    /// grpc-gateway's answer for an unknown path under /v3/.
    static let gatewayNotFound = goError("Not Found\n", status: .notFound)

    /// With `allow` nil, grpc-gateway's answer (it names no allowed method).
    static func methodNotAllowed(allow: String?) -> HTTPResponse {
        var response = goError("Method Not Allowed\n", status: .methodNotAllowed)
        if let allow { response.headers.add(name: "Allow", value: allow) }
        return response
    }
}

/// Writes the pieces of a streamed response body, each flushed at once; waits until the
/// client's connection took the previous piece (backpressure for slow readers).
struct HTTPBodyWriter: Sendable {
    let write: @Sendable (String) async throws -> Void
}

/// A response whose body is produced over time (a watch, a lease keep-alive).
struct HTTPStreamingResponse: Sendable {
    var status: HTTPResponseStatus = .ok
    var headers: HTTPHeaders
    var produce: @Sendable (HTTPBodyWriter) async throws -> Void
}

/// What a route answers: a whole response or a stream.
enum HTTPReply: Sendable {
    case complete(HTTPResponse)
    case stream(HTTPStreamingResponse)
}

/// A complete HTTP/1.1 request as read from the connection.
struct HTTPRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer

    /// The path without the query string.
    var path: Substring { head.uri.split(separator: "?", maxSplits: 1).first ?? "" }
}
