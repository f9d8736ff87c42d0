// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "swetcd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swetcd", targets: ["swetcd"]),
        .executable(name: "swetcd-raft-bench", targets: ["RaftBench"]),
        .library(name: "Raft", targets: ["Raft"]),
        .library(name: "EtcdProto", targets: ["EtcdProto"]),
        .library(name: "EtcdClient", targets: ["EtcdClient"]),
        .executable(name: "swetcdctl", targets: ["swetcdctl"]),
        .executable(name: "swetcd-failover-example", targets: ["swetcd-failover-example"]),
        .executable(name: "swetcd-bench", targets: ["swetcd-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.0.0"),
    ],
    targets: [
        // Generated protobuf and gRPC code (scripts/generate-protos.sh); nothing hand-written.
        .target(
            name: "EtcdProto",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // Raft as a pure, deterministic state machine: no clocks, threads, sockets or files.
        .target(name: "Raft", swiftSettings: swiftSettings),
        // etcd's errors as one table (its rpctypes): status codes and messages, for server and client.
        .target(name: "EtcdErrors", swiftSettings: swiftSettings),
        // CRC-32C, shared by the WAL, MVCC hashes and snapshot files.
        .target(name: "Checksum", swiftSettings: swiftSettings),
        // Segmented, checksummed write-ahead log of Raft entries and hard state.
        .target(name: "WAL", dependencies: ["Raft", "Checksum"], swiftSettings: swiftSettings),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // libxcrypt's bcrypt, the password hash etcd stores (libcrypt-dev, which libc6-dev pulls in).
        .systemLibrary(name: "CCrypt", providers: [.apt(["libcrypt-dev"])]),
        // The backend: bucketed key-value tables in SQLite, written in batches.
        // Waits and timers on the monotonic clock (a wall clock stepped back stretches none).
        .target(name: "Timing", swiftSettings: swiftSettings),
        .target(name: "Storage", dependencies: ["CSQLite", "Timing"], swiftSettings: swiftSettings),
        // Multi-version key-value store: revisions, key index, ranges, txns, compaction.
        .target(name: "MVCC", dependencies: ["Storage", "Checksum", "Timing"], swiftSettings: swiftSettings),
        // Leases: grant/revoke through the log, time kept by the leader, keys attached.
        .target(name: "Lease", dependencies: ["Storage", "MVCC", "Timing"], swiftSettings: swiftSettings),
        // etcd's users, roles and permissions: the auth state applied from the log and kept in
        // the backend, permission checks, bcrypt passwords, simple and JWT tokens.
        .target(
            name: "Auth",
            dependencies: [
                "CCrypt", "EtcdErrors", "EtcdProto", "Storage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Member-to-member traffic over gRPC: Raft messages, snapshots, forwarded calls.
        .target(
            name: "Transport",
            dependencies: [
                "EtcdProto", "EtcdTLS", "Raft", "LeanGRPC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // etcd's flags and the member's configuration: parsing, validation, URLs, Go durations.
        .target(name: "EtcdConfiguration", swiftSettings: swiftSettings),
        // The member: bootstrap, the proposal/log/apply loop, request semantics.
        .target(
            name: "EtcdServer",
            dependencies: [
                "EtcdConfiguration", "EtcdErrors", "EtcdProto", "Raft", "WAL", "Storage", "MVCC", "Lease", "Transport",
                "Checksum", "EtcdTLS", "Timing", "Auth",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // etcd's lock and election services (v3lock, v3election) on the member's KV, leases and watches.
        .target(name: "Recipes", dependencies: ["EtcdServer", "EtcdProto"], swiftSettings: swiftSettings),
        // A small gRPC server and client on raw swift-nio-http2 frames: no stream channels,
        // no task per call. Serves the client port and the peer port; drives swetcd-bench.
        .target(
            name: "LeanGRPC",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // TLS for both ports from etcd's flags: files reloaded when they change, auto-TLS
        // certificates, revocation lists and allowed peer names.
        .target(
            name: "EtcdTLS",
            dependencies: [
                "EtcdConfiguration",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The client API: the services on LeanGRPC's server, the HTTP endpoints.
        .target(
            name: "EtcdAPI",
            dependencies: [
                "EtcdServer", "EtcdConfiguration", "EtcdErrors", "EtcdProto", "EtcdTLS", "LeanGRPC", "Recipes",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swetcd",
            dependencies: [
                "EtcdAPI", "EtcdConfiguration", "EtcdServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),

        // Raft proposals per second through an in-memory 3-node cluster (a benchmark, not a test).
        .executableTarget(name: "RaftBench", dependencies: ["Raft"], swiftSettings: swiftSettings),

        // Transcripts/ holds scenario scripts, read from the source tree (REWRITE_TRANSCRIPTS=1 writes them).
        .testTarget(name: "RaftTests", dependencies: ["TestLoad", "Raft"], exclude: ["Transcripts"], swiftSettings: swiftSettings),
        .testTarget(name: "ChecksumTests", dependencies: ["Checksum", "HarnessSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "WALTests", dependencies: ["WAL", "Raft", "HarnessSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], swiftSettings: swiftSettings),
        .testTarget(name: "MVCCTests", dependencies: ["MVCC", "Storage", "HarnessSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TransportTests",
            dependencies: [
                "Transport", "Raft", "EtcdProto", "HarnessSupport", "LeanGRPC", .product(name: "Logging", package: "swift-log"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "LeaseTests", dependencies: ["Lease", "MVCC", "Storage"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AuthTests",
            dependencies: ["Auth", "EtcdProto", "Storage", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EtcdAPITests",
            dependencies: [
                "EtcdAPI", "EtcdProto", "EtcdServer", "LeanGRPC",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"), .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"), .product(name: "GRPCCore", package: "grpc-swift-2"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LeanGRPCTests",
            dependencies: [
                "LeanGRPC",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"), .product(name: "GRPCCore", package: "grpc-swift-2"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EtcdServerTests",
            dependencies: [
                "TestLoad",
                "EtcdServer", "EtcdConfiguration", "EtcdProto", "MVCC", "Raft", "Storage", "HarnessSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The real etcdctl against the real etcd and against swetcd, outputs compared.
        .testTarget(
            name: "DifferentialTests", dependencies: ["HarnessSupport"], exclude: ["Scripts", "README.md"],
            swiftSettings: swiftSettings),
        // End-to-end tests that spawn swetcd processes and talk gRPC to them.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "TestLoad", "EtcdProto", "HarnessSupport", "Raft", "Storage",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the harnesses that drive servers from outside share (the tests, the robustness
        // harness, the fuzz targets): spawning and stopping server processes, free ports,
        // locating binaries, a seedable random generator.
        .target(name: "HarnessSupport", dependencies: ["Raft"], swiftSettings: swiftSettings),
        // Robustness harness: a 3/5-member cluster of any etcd-flag-compatible binary under kills,
        // pauses, leader moves and hostile client and peer traffic; the client history checked for
        // linearizability, watches for order, gaps, duplicates and agreement.
        .target(
            name: "Robustness",
            dependencies: [
                "EtcdErrors", "EtcdProto", "HarnessSupport", "Raft",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swetcd-robustness",
            dependencies: ["Robustness", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "RobustnessTests", dependencies: ["TestLoad", "Robustness", "HarnessSupport"], swiftSettings: swiftSettings),
        // The Swift client library: every service, failover, watches, leases, concurrency recipes.
        .target(
            name: "EtcdClient",
            dependencies: [
                "EtcdErrors", "EtcdProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // etcdctl 3.4's commands, flags, output formats and exit statuses on EtcdClient.
        .executableTarget(
            name: "swetcdctl",
            dependencies: [
                "Checksum", "EtcdClient", "EtcdProto", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // Primary/standby failover with Session + Mutex (Examples/FailoverExample).
        .executableTarget(
            name: "swetcd-failover-example", dependencies: ["EtcdClient"], path: "Examples/FailoverExample",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EtcdClientTests",
            dependencies: [
                "TestLoad",
                "EtcdClient", "HarnessSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The load generator behind swetcd-bench: workloads over raw gRPC stubs, latency reports.
        .target(
            name: "Bench",
            dependencies: [
                "EtcdClient", "EtcdProto", "LeanGRPC", "MVCC", "Storage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: swiftSettings
        ),
        // etcd's benchmark tool, for any etcd-compatible endpoints (a benchmark, not a test).
        .executableTarget(
            name: "swetcd-bench",
            dependencies: [
                "Bench", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // libFuzzer targets (Tests/Fuzz). scripts/fuzz.sh builds them in .build-fuzz with
        // `--sanitize fuzzer -Xswiftc -DFUZZING`; the normal build links a main that replays
        // the inputs given as files instead, so no sanitizer flags are needed here.
        // The machine share that tests starting servers take, so Swift Testing's parallel
        // suites don't starve each other (built from Tests/, used only by tests).
        .target(name: "TestLoad", path: "Tests/TestLoad", swiftSettings: swiftSettings),
        .target(name: "FuzzSupport", dependencies: ["HarnessSupport"], path: "Tests/Fuzz/Support", swiftSettings: swiftSettings),
        .executableTarget(
            name: "fuzz-kv-apply",
            dependencies: ["FuzzSupport", "EtcdServer", "EtcdProto", "LeanGRPC", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/Fuzz/Targets/KVApply", swiftSettings: swiftSettings),
        .executableTarget(
            name: "fuzz-gateway-json",
            dependencies: ["FuzzSupport", "EtcdAPI", "EtcdProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/Fuzz/Targets/GatewayJSON", swiftSettings: swiftSettings),
        .executableTarget(
            name: "fuzz-peer", dependencies: ["FuzzSupport", "Raft", "EtcdProto"], path: "Tests/Fuzz/Targets/Peer",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "fuzz-storage-files", dependencies: ["FuzzSupport", "EtcdServer", "WAL", "Raft", "Checksum"],
            path: "Tests/Fuzz/Targets/StorageFiles", swiftSettings: swiftSettings),
        // Checks on the repository itself: docs/ARCHITECTURE.md's module map against this file.
        .testTarget(
            name: "EtcdTLSTests",
            dependencies: [
                "EtcdTLS", "EtcdConfiguration",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "RepositoryTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "BenchTests",
            dependencies: ["Bench", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
    ]
)
