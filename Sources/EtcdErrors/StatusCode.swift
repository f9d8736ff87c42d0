/// gRPC status codes, numbered as gRPC numbers them and named as gRPC-go names them.
///
/// A type of its own, so that the server core and the client can name the code an error travels
/// with without depending on a gRPC library; each gRPC port maps it to its library's code.
public enum StatusCode: Int, Sendable, Hashable, CustomStringConvertible {
    case ok = 0, canceled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
        permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange,
        unimplemented, internalError, unavailable, dataLoss, unauthenticated

    /// gRPC-go's name of the code (`codes.Code.String()`), as `rpc error: code = ...` shows it.
    public var description: String {
        switch self {
        case .ok: "OK"
        case .canceled: "Canceled"
        case .unknown: "Unknown"
        case .invalidArgument: "InvalidArgument"
        case .deadlineExceeded: "DeadlineExceeded"
        case .notFound: "NotFound"
        case .alreadyExists: "AlreadyExists"
        case .permissionDenied: "PermissionDenied"
        case .resourceExhausted: "ResourceExhausted"
        case .failedPrecondition: "FailedPrecondition"
        case .aborted: "Aborted"
        case .outOfRange: "OutOfRange"
        case .unimplemented: "Unimplemented"
        case .internalError: "Internal"
        case .unavailable: "Unavailable"
        case .dataLoss: "DataLoss"
        case .unauthenticated: "Unauthenticated"
        }
    }
}
