// swift-tools-version:6.1
// Builds the two protoc plugins that scripts/generate-protos.sh uses.
// Kept apart from the main package so that regenerating code never slows the normal build.
import PackageDescription

let package = Package(
    name: "ProtocPlugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
    ],
    targets: []
)
