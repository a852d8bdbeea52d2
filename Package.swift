// swift-tools-version:6.0
import PackageDescription

let logging = Target.Dependency.product(name: "Logging", package: "swift-log")

let package = Package(
    name: "thinkback",
    products: [
        .executable(name: "thinkback", targets: ["thinkback"]),
        .executable(name: "thinkback-sim", targets: ["thinkback-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C glue: evhttp server, curl_multi <-> libevent, typed curl setters. No product logic.
        .target(
            name: "CLibEvent",
            path: "CLibEvent",
            linkerSettings: [.linkedLibrary("event"), .linkedLibrary("curl")]
        ),
        // Pure: bytes in, decisions out. No I/O.
        .target(name: "ThinkbackCore"),
        // The loop: server, upstream client, routing, stores, config, logs.
        .target(name: "ThinkbackRuntime", dependencies: ["CLibEvent", "ThinkbackCore", logging]),
        .executableTarget(name: "thinkback", dependencies: ["ThinkbackRuntime", "ThinkbackCore", logging]),
        // The simulator's scripted model, rules and fidelity ledger (pure).
        .target(name: "ThinkbackSimCore", dependencies: ["ThinkbackCore"], exclude: ["KNOBS.md"]),
        .executableTarget(
            name: "thinkback-sim",
            dependencies: ["ThinkbackRuntime", "ThinkbackSimCore", "ThinkbackCore", logging]
        ),
        // libFuzzer entry for the JSON/SSE parsers: `scripts/fuzz-json` (built with -DTHINKBACK_FUZZ).
        .executableTarget(name: "ThinkbackJSONFuzz", dependencies: ["ThinkbackCore"]),
        .testTarget(name: "ThinkbackCoreTests", dependencies: ["ThinkbackCore"]),
        .testTarget(name: "ThinkbackSimCoreTests", dependencies: ["ThinkbackSimCore"]),
        .testTarget(name: "ThinkbackRuntimeTests", dependencies: ["ThinkbackRuntime", "ThinkbackCore"]),
    ]
)
