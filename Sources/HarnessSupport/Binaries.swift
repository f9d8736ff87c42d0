import Foundation

/// Where the executables under test are: etcd's on PATH, this package's in the build products.
public enum Binaries {
    /// How to get etcd and etcdctl, for the errors when they are missing.
    public static let installHint = "install etcd-server etcd-client (apt-get install -y etcd-server etcd-client)"

    /// Whether `path` is an executable file (not a directory).
    public static func isExecutable(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            && !isDirectory.boolValue && FileManager.default.isExecutableFile(atPath: path)
    }

    /// `override` from the environment if set, else `name` on PATH.
    public static func fromPath(_ name: String, override variable: String) throws -> URL {
        let env = ProcessInfo.processInfo.environment
        if let path = env[variable], !path.isEmpty {
            guard isExecutable(path) else {
                throw HarnessError("\(variable)=\(path) is not an executable file; \(installHint)")
            }
            return URL(fileURLWithPath: path)
        }
        for dir in (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if isExecutable(path) { return URL(fileURLWithPath: path) }
        }
        throw HarnessError("\(name) not found on PATH; \(installHint)")
    }

    /// `SWETCD_BIN` if set, else the `swetcd` executable in the build products directory that
    /// holds this test bundle (`.build/<config>/swetcd` under `swift test`).
    public static func swetcd() throws -> URL {
        try builtProduct("swetcd", override: "SWETCD_BIN", buildHint: "run `swift build --product swetcd` first")
    }

    /// `SWETCDCTL_BIN` if set, else the `swetcdctl` executable next to the test bundle.
    public static func swetcdctl() throws -> URL {
        try builtProduct("swetcdctl", override: "SWETCDCTL_BIN", buildHint: "run `swift build --product swetcdctl` first")
    }

    /// The executable `name` of this package: `override` from the environment if set, else the
    /// one in the build products directory that holds this test bundle.
    public static func builtProduct(_ name: String, override variable: String, buildHint: String) throws -> URL {
        if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty {
            guard isExecutable(path) else {
                throw HarnessError("\(variable)=\(path) is not an executable file")
            }
            return URL(fileURLWithPath: path)
        }
        var directories: [URL] = []
        if let executable = Bundle.main.executableURL {
            directories.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        // macOS: the bundle is a directory <products>/X.xctest, run by xctest.
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        directories = directories.reduce(into: []) { unique, url in
            if !unique.contains(url) { unique.append(url) }
        }
        for directory in directories {
            let candidate = directory.appendingPathComponent(name)
            if isExecutable(candidate.path) { return candidate }
        }
        throw HarnessError("""
            \(name) executable not found next to the test bundle (looked in \
            \(directories.map(\.path).joined(separator: ", "))); \(buildHint), \
            or set \(variable)
            """)
    }

    /// The environment for children: ours minus every ETCD_*/ETCDCTL_* variable (a stray
    /// ETCD_NAME or ETCDCTL_ENDPOINTS would silently change what is tested), plus `extra`.
    public static func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("ETCD_") && !$0.key.hasPrefix("ETCDCTL_")
        }
        env.merge(extra) { _, new in new }
        return env
    }
}
