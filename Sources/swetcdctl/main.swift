import Foundation

// swetcdctl: etcdctl's (3.4) commands, flags, output formats and exit statuses, on the
// EtcdClient library.

var environment = ProcessInfo.processInfo.environment
let apiVersion = environment.removeValue(forKey: "ETCDCTL_API") ?? ""
if !apiVersion.isEmpty && apiVersion != "3" {
    if apiVersion == "2" {
        Out.errLine("Error: ETCDCTL_API=2 (the v2 API) is not supported by swetcdctl")
    } else {
        Out.errLine("unsupported API version \(apiVersion)")
    }
    exit(1)
}

let app = App(environment: environment)
Commands.registerAll(app)
await Dispatcher.run(app, Array(CommandLine.arguments.dropFirst()))
