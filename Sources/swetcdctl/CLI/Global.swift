import EtcdClient
import Foundation

enum Version {
    /// The etcdctl release whose behaviour swetcdctl reproduces.
    static let etcdctl = "3.4.23"
    static let api = "3.4"
}

/// The root command with etcdctl's global flags, and what commands share: the client, the
/// output format, timeouts.
final class App: @unchecked Sendable {
    let root = Command("etcdctl", short: "A simple command line client for etcd3.")
    let environment: [String: String]

    let endpoints: Flag
    let debug: Flag
    let writeOut: Flag
    let hex: Flag
    let dialTimeout: Flag
    let commandTimeout: Flag
    let keepAliveTime: Flag
    let keepAliveTimeout: Flag
    let insecureTransport: Flag
    let insecureDiscovery: Flag
    let insecureSkipVerify: Flag
    let cert: Flag
    let key: Flag
    let cacert: Flag
    let user: Flag
    let password: Flag
    let discoverySrv: Flag
    let discoverySrvName: Flag

    /// The output format chosen (set when the client configuration is read).
    var display = Display(format: .simple, isHex: false)
    /// A random ID for etcdctl-style client log lines.
    let clientID = UUID().uuidString.lowercased()

    init(environment: [String: String]) {
        self.environment = environment
        let f = root.persistentFlags
        endpoints = f.stringSlice("endpoints", ["127.0.0.1:2379"], "gRPC endpoints")
        debug = f.bool("debug", nil, false, "enable client-side debug logging")
        writeOut = f.string("write-out", "w", "simple", "set the output format (fields, json, protobuf, simple, table)")
        hex = f.bool("hex", nil, false, "print byte strings as hex encoded strings")
        dialTimeout = f.duration("dial-timeout", 2, "dial timeout for client connections")
        commandTimeout = f.duration("command-timeout", 5, "timeout for short running command (excluding dial timeout)")
        keepAliveTime = f.duration("keepalive-time", 2, "keepalive time for client connections")
        keepAliveTimeout = f.duration("keepalive-timeout", 6, "keepalive timeout for client connections")
        insecureTransport = f.bool("insecure-transport", nil, true, "disable transport security for client connections")
        insecureDiscovery = f.bool("insecure-discovery", nil, true, "accept insecure SRV records describing cluster endpoints")
        insecureSkipVerify = f.bool("insecure-skip-tls-verify", nil, false,
            "skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)")
        cert = f.string("cert", nil, "", "identify secure client using this TLS certificate file")
        key = f.string("key", nil, "", "identify secure client using this TLS key file")
        cacert = f.string("cacert", nil, "", "verify certificates of TLS-enabled secure servers using this CA bundle")
        user = f.string("user", nil, "", "username[:password] for authentication (prompt if password is not supplied)")
        password = f.string("password", nil, "",
            "password for authentication (if this option is used, --user option shouldn't include password)")
        discoverySrv = f.string("discovery-srv", "d", "", "domain name to query for SRV records describing cluster endpoints")
        discoverySrvName = f.string("discovery-srv-name", nil, "", "service name to query when using DNS discovery")
    }

    // MARK: - Timeouts

    var commandTimeoutDuration: Duration { .nanoseconds(commandTimeout.duration) }
    var dialTimeoutDuration: Duration { .nanoseconds(dialTimeout.duration) }

    // MARK: - Output format

    /// etcdctl's `initDisplayFromCmd`: the printer for `--write-out` and `--hex`.
    func initDisplay() {
        guard let format = Display.Format(rawValue: writeOut.string) else {
            exitWithError(.badFeature, "unsupported output format")
        }
        display = Display(format: format, isHex: hex.bool)
    }

    // MARK: - Client configuration

    /// etcdctl's `clientConfigFromCmd`: global flags from `ETCDCTL_*`, debug output, the
    /// output format; exits on bad settings.
    func clientConfiguration(_ invocation: Invocation, extraEnvNames: [String] = []) -> EtcdClient.Configuration {
        applyEnvironment(invocation.command, extraEnvNames: extraEnvNames)
        if debug.bool {
            for flag in inheritedSorted(invocation.command) {
                Out.errLine("\(FlagSet.envName("ETCDCTL", flag.name))=\(Flag.text(of: flag.value))")
            }
        }
        var config = EtcdClient.Configuration(endpoints: endpointList)
        config.dialTimeout = dialTimeoutDuration
        config.keepAliveTime = .nanoseconds(keepAliveTime.duration)
        config.keepAliveTimeout = .nanoseconds(keepAliveTimeout.duration)
        config.requestTimeout = commandTimeoutDuration
        config.tls = tlsSettings()
        config.credentials = credentials()
        initDisplay()
        return config
    }

    /// Applies `ETCDCTL_*` to the command's inherited flags (what etcdctl does before it
    /// builds a client), with pkg/flags' warnings.
    func applyEnvironment(_ command: Command, extraEnvNames: [String] = []) {
        let inherited = FlagSet()
        for flag in command.inheritedFlags { inherited.add(flag) }
        let (warnings, fatal) = inherited.applyEnvironment(prefix: "ETCDCTL", environment, extraNames: extraEnvNames)
        for warning in warnings { Out.errLine("\(Self.capnslogTime()) W | pkg/flags: \(warning)") }
        if let fatal {
            Out.errLine("\(Self.capnslogTime()) C | pkg/flags: \(fatal)")
            exit(1)
        }
    }

    private func inheritedSorted(_ command: Command) -> [Flag] {
        command.inheritedFlags.sorted { $0.name < $1.name }
    }

    var endpointList: [String] {
        endpoints.stringSlice.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func tlsSettings() -> EtcdClient.Configuration.TLS? {
        for (flag, name) in [(cert, "cert"), (key, "key"), (cacert, "cacert")] where flag.changed && flag.string.isEmpty {
            exitWithError(.badArgs, "empty string is passed to --\(name) option")
        }
        var tls: EtcdClient.Configuration.TLS?
        if cert.string.isEmpty != key.string.isEmpty {
            exitWithError(.badArgs, "KeyFile and CertFile must both be present[key: \(key.string), cert: \(cert.string)]")
        }
        if !cert.string.isEmpty || !key.string.isEmpty || !cacert.string.isEmpty {
            tls = .init(trustedCAFile: cacert.string.isEmpty ? nil : cacert.string,
                        certificateFile: cert.string.isEmpty ? nil : cert.string,
                        keyFile: key.string.isEmpty ? nil : key.string)
            for path in [cert.string, key.string, cacert.string] where !path.isEmpty {
                if !FileManager.default.fileExists(atPath: path) {
                    exitWithError(.badArgs, "open \(path): no such file or directory")
                }
            }
            if !cert.string.isEmpty, let problem = TLSFileCheck.problem(certificateFile: cert.string, keyFile: key.string) {
                exitWithError(.badArgs, problem)
            }
        }
        if tls == nil && !insecureTransport.bool { tls = .init() }
        if insecureSkipVerify.bool, tls != nil { tls?.insecureSkipVerify = true }
        return tls
    }

    func credentials() -> EtcdClient.Configuration.Credentials? {
        let name = user.string
        guard !name.isEmpty else { return nil }
        let credentials: EtcdClient.Configuration.Credentials
        let parts = name.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if !password.string.isEmpty {
            credentials = .init(username: name, password: password.string)
        } else if parts.count == 2 {
            credentials = .init(username: String(parts[0]), password: String(parts[1]))
        } else {
            credentials = .init(username: name, password: Terminal.askPassword("Password: "))
        }
        // clientv3 authenticates only with a user name and a password: `--user name:` sends
        // no credentials at all.
        return credentials.username.isEmpty || credentials.password.isEmpty ? nil : credentials
    }

    /// A client for the invocation (etcdctl's `mustClientFromCmd`).
    func client(_ invocation: Invocation, extraEnvNames: [String] = []) async -> EtcdClient {
        await makeClient(clientConfiguration(invocation, extraEnvNames: extraEnvNames))
    }

    /// etcd's client fetches its token while it is made: a failure ends the command (exit 2)
    /// unless authentication is simply not enabled.
    func makeClient(_ config: EtcdClient.Configuration) async -> EtcdClient {
        let client: EtcdClient
        do {
            client = try EtcdClient(configuration: config)
        } catch {
            exitWithError(.badConnection, error)
        }
        if config.credentials != nil {
            do {
                try await client.authenticate(timeout: config.dialTimeout)
            } catch {
                logRetryFailure(error)
                if (error as? EtcdError)?.kind != .authNotEnabled { exitWithError(.badConnection, error) }
            }
        }
        return client
    }

    // MARK: - etcd client log lines

    /// The warning etcd's Go client logs (as zap JSON on stderr) when a unary call fails.
    func logRetryFailure(_ error: any Error, endpoint: String? = nil) {
        let mapped = error as? EtcdError ?? EtcdError(kind: .other, code: .unknown, message: "\(error)")
        let target = endpoint.map { "passthrough:///\($0)" }
            ?? "endpoint://client-\(clientID)/\(Self.hostPort(endpointList.first ?? ""))"
        let detail: String
        switch mapped.kind {
        case .deadlineExceeded:
            detail = endpoint == nil
                ? "rpc error: code = DeadlineExceeded desc = latest balancer error: all SubConns are in TransientFailure"
                : "rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = \"transport: Error while dialing dial tcp \(endpoint!): connect: connection refused\""
        case .canceled:
            detail = "rpc error: code = Canceled desc = context canceled"
        default:
            detail = mapped.grpcDescription
        }
        Out.errLine("{\"level\":\"warn\",\"ts\":\"\(Self.zapTime())\",\"caller\":\"clientv3/retry_interceptor.go:62\","
            + "\"msg\":\"retrying of unary invoker failed\",\"target\":\(GoFormat.jsonString(target)),\"attempt\":0,"
            + "\"error\":\(GoFormat.jsonString(detail))}")
    }

    /// Runs a unary request of a command: on failure logs like etcd's client and exits with
    /// `code` and `wrap`'s message.
    func call<T>(_ code: ExitCode = .error, endpoint: String? = nil, wrap: (EtcdError) -> String = { "\($0)" },
                 _ body: () async throws -> T) async -> T {
        do {
            return try await body()
        } catch {
            let mapped = error as? EtcdError ?? EtcdError(kind: .other, code: .unknown, message: "\(error)")
            logRetryFailure(mapped, endpoint: endpoint)
            exitWithError(code, wrap(mapped))
        }
    }

    /// An endpoint without its scheme, as gRPC's resolver shows it.
    static func hostPort(_ endpoint: String) -> String {
        guard let range = endpoint.range(of: "://") else { return endpoint }
        return String(endpoint[range.upperBound...])
    }

    static func zapTime() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        return formatter.string(from: Date())
    }

    static func capnslogTime() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSS"
        return formatter.string(from: Date())
    }
}

/// Reading secrets from the terminal.
enum Terminal {
    /// Prompts on the terminal (without echo) and reads a line; falls back to stdin.
    static func askPassword(_ prompt: String) -> String {
        Out.print(prompt)
        var old = termios()
        let isTTY = tcgetattr(0, &old) == 0
        if isTTY {
            var quiet = old
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &quiet)
        }
        let line = readLine(strippingNewline: true) ?? ""
        if isTTY {
            tcsetattr(0, TCSANOW, &old)
            Out.line()
        }
        return line
    }
}
